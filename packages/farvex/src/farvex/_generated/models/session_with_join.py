from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.session_view import SessionView
    from ..models.voice_join_grant import VoiceJoinGrant


T = TypeVar("T", bound="SessionWithJoin")


@_attrs_define
class SessionWithJoin:
    """
    Attributes:
        join (None | VoiceJoinGrant):
        session (SessionView):
    """

    join: None | VoiceJoinGrant
    session: SessionView
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.voice_join_grant import VoiceJoinGrant

        join: dict[str, Any] | None
        if isinstance(self.join, VoiceJoinGrant):
            join = self.join.to_dict()
        else:
            join = self.join

        session = self.session.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "join": join,
                "session": session,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.session_view import SessionView
        from ..models.voice_join_grant import VoiceJoinGrant

        d = dict(src_dict)

        def _parse_join(data: object) -> None | VoiceJoinGrant:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                join_type_0 = VoiceJoinGrant.from_dict(data)

                return join_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | VoiceJoinGrant, data)

        join = _parse_join(d.pop("join"))

        session = SessionView.from_dict(d.pop("session"))

        session_with_join = cls(
            join=join,
            session=session,
        )

        session_with_join.additional_properties = d
        return session_with_join

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
