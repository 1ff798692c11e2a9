from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dispatch_state import DispatchState
from ..models.dispatch_strategy import DispatchStrategy

T = TypeVar("T", bound="DispatchView")


@_attrs_define
class DispatchView:
    """
    Attributes:
        id (str):
        member_participant_ids (list[str]):
        reason (None | str):
        resolved_participant_id (None | str):
        state (DispatchState):
        strategy (DispatchStrategy):
        team (str):
    """

    id: str
    member_participant_ids: list[str]
    reason: None | str
    resolved_participant_id: None | str
    state: DispatchState
    strategy: DispatchStrategy
    team: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        member_participant_ids = self.member_participant_ids

        reason: None | str
        reason = self.reason

        resolved_participant_id: None | str
        resolved_participant_id = self.resolved_participant_id

        state = self.state.value

        strategy = self.strategy.value

        team = self.team

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "member_participant_ids": member_participant_ids,
                "reason": reason,
                "resolved_participant_id": resolved_participant_id,
                "state": state,
                "strategy": strategy,
                "team": team,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        member_participant_ids = cast(list[str], d.pop("member_participant_ids"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        def _parse_resolved_participant_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        resolved_participant_id = _parse_resolved_participant_id(
            d.pop("resolved_participant_id")
        )

        state = DispatchState(d.pop("state"))

        strategy = DispatchStrategy(d.pop("strategy"))

        team = d.pop("team")

        dispatch_view = cls(
            id=id,
            member_participant_ids=member_participant_ids,
            reason=reason,
            resolved_participant_id=resolved_participant_id,
            state=state,
            strategy=strategy,
            team=team,
        )

        dispatch_view.additional_properties = d
        return dispatch_view

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
