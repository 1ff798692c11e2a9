from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.participant_state import ParticipantState
from ..models.state_reason import StateReason

T = TypeVar("T", bound="DispatchAttemptView")


@_attrs_define
class DispatchAttemptView:
    """One agent rung by the dispatch: when, in which round, and how it ended.

    Attributes:
        ended_at (datetime.datetime | None):
        participant_id (str):
        round_ (int):
        rung_at (datetime.datetime):
        state (ParticipantState):
        state_reason (None | StateReason):
        user_id (int | None):
    """

    ended_at: datetime.datetime | None
    participant_id: str
    round_: int
    rung_at: datetime.datetime
    state: ParticipantState
    state_reason: None | StateReason
    user_id: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        participant_id = self.participant_id

        round_ = self.round_

        rung_at = self.rung_at.isoformat()

        state = self.state.value

        state_reason: None | str
        if isinstance(self.state_reason, StateReason):
            state_reason = self.state_reason.value
        else:
            state_reason = self.state_reason

        user_id: int | None
        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ended_at": ended_at,
                "participant_id": participant_id,
                "round": round_,
                "rung_at": rung_at,
                "state": state,
                "state_reason": state_reason,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_ended_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = datetime.datetime.fromisoformat(data)

                return ended_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ended_at = _parse_ended_at(d.pop("ended_at"))

        participant_id = d.pop("participant_id")

        round_ = d.pop("round")

        rung_at = datetime.datetime.fromisoformat(d.pop("rung_at"))

        state = ParticipantState(d.pop("state"))

        def _parse_state_reason(data: object) -> None | StateReason:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_reason_type_0 = StateReason(data)

                return state_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | StateReason, data)

        state_reason = _parse_state_reason(d.pop("state_reason"))

        def _parse_user_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        user_id = _parse_user_id(d.pop("user_id"))

        dispatch_attempt_view = cls(
            ended_at=ended_at,
            participant_id=participant_id,
            round_=round_,
            rung_at=rung_at,
            state=state,
            state_reason=state_reason,
            user_id=user_id,
        )

        dispatch_attempt_view.additional_properties = d
        return dispatch_attempt_view

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
