from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.inviter import Inviter
    from ..models.participant_view import ParticipantView


T = TypeVar("T", bound="InviteView")


@_attrs_define
class InviteView:
    """A pending app invite, for its recipient: what an app needs to ring and decide.

    It names the session rather than embedding it: a team call rings hundreds of agents,
    and each would otherwise receive every other agent's participant. An agent who
    accepts receives the session (in the answer and on their channel) from then on.

        Attributes:
            caller (Inviter):
            created_at (datetime.datetime):
            dispatch_id (None | str):
            expires_at (datetime.datetime):
            id (str):
            inviter (Inviter):
            participant (ParticipantView):
            participant_id (str):
            session_id (str):
            session_name (str):
            session_version (int): The session's `version` when this invite was described: an app that holds a newer view of
                the session trusts that instead.
            team (None | str): The team whose dispatch rings this invite, if any.
            vendor (str):
    """

    caller: Inviter
    created_at: datetime.datetime
    dispatch_id: None | str
    expires_at: datetime.datetime
    id: str
    inviter: Inviter
    participant: ParticipantView
    participant_id: str
    session_id: str
    session_name: str
    session_version: int
    team: None | str
    vendor: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        caller = self.caller.to_dict()

        created_at = self.created_at.isoformat()

        dispatch_id: None | str
        dispatch_id = self.dispatch_id

        expires_at = self.expires_at.isoformat()

        id = self.id

        inviter = self.inviter.to_dict()

        participant = self.participant.to_dict()

        participant_id = self.participant_id

        session_id = self.session_id

        session_name = self.session_name

        session_version = self.session_version

        team: None | str
        team = self.team

        vendor = self.vendor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "caller": caller,
                "created_at": created_at,
                "dispatch_id": dispatch_id,
                "expires_at": expires_at,
                "id": id,
                "inviter": inviter,
                "participant": participant,
                "participant_id": participant_id,
                "session_id": session_id,
                "session_name": session_name,
                "session_version": session_version,
                "team": team,
                "vendor": vendor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.inviter import Inviter
        from ..models.participant_view import ParticipantView

        d = dict(src_dict)
        caller = Inviter.from_dict(d.pop("caller"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_dispatch_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        dispatch_id = _parse_dispatch_id(d.pop("dispatch_id"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        id = d.pop("id")

        inviter = Inviter.from_dict(d.pop("inviter"))

        participant = ParticipantView.from_dict(d.pop("participant"))

        participant_id = d.pop("participant_id")

        session_id = d.pop("session_id")

        session_name = d.pop("session_name")

        session_version = d.pop("session_version")

        def _parse_team(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        team = _parse_team(d.pop("team"))

        vendor = d.pop("vendor")

        invite_view = cls(
            caller=caller,
            created_at=created_at,
            dispatch_id=dispatch_id,
            expires_at=expires_at,
            id=id,
            inviter=inviter,
            participant=participant,
            participant_id=participant_id,
            session_id=session_id,
            session_name=session_name,
            session_version=session_version,
            team=team,
            vendor=vendor,
        )

        invite_view.additional_properties = d
        return invite_view

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
