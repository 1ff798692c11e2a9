from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dispatch_reason import DispatchReason
from ..models.dispatch_state import DispatchState
from ..models.dispatch_strategy import DispatchStrategy
from ..models.ring_order import RingOrder

if TYPE_CHECKING:
    from ..models.dispatch_attempt_view import DispatchAttemptView


T = TypeVar("T", bound="DispatchView")


@_attrs_define
class DispatchView:
    """A team fan-out (ring group): who was rung, the winner, the queue place.

    Attributes:
        attempts (list[DispatchAttemptView]):
        created_at (datetime.datetime):
        ended_at (datetime.datetime | None):
        estimated_wait_s (float | None):
        expires_at (datetime.datetime | None):
        id (str):
        queue_position (int | None):
        queued_at (datetime.datetime | None):
        reason (DispatchReason | None):
        resolved_participant_id (None | str):
        ring_order (RingOrder): Who is rung first: member order, the member after the last one rung, or the member
            idle the longest.
        round_ (int):
        state (DispatchState):
        strategy (DispatchStrategy):
        team (str):
    """

    attempts: list[DispatchAttemptView]
    created_at: datetime.datetime
    ended_at: datetime.datetime | None
    estimated_wait_s: float | None
    expires_at: datetime.datetime | None
    id: str
    queue_position: int | None
    queued_at: datetime.datetime | None
    reason: DispatchReason | None
    resolved_participant_id: None | str
    ring_order: RingOrder
    round_: int
    state: DispatchState
    strategy: DispatchStrategy
    team: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempts = []
        for attempts_item_data in self.attempts:
            attempts_item = attempts_item_data.to_dict()
            attempts.append(attempts_item)

        created_at = self.created_at.isoformat()

        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        estimated_wait_s: float | None
        estimated_wait_s = self.estimated_wait_s

        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        id = self.id

        queue_position: int | None
        queue_position = self.queue_position

        queued_at: None | str
        if isinstance(self.queued_at, datetime.datetime):
            queued_at = self.queued_at.isoformat()
        else:
            queued_at = self.queued_at

        reason: None | str
        if isinstance(self.reason, DispatchReason):
            reason = self.reason.value
        else:
            reason = self.reason

        resolved_participant_id: None | str
        resolved_participant_id = self.resolved_participant_id

        ring_order = self.ring_order.value

        round_ = self.round_

        state = self.state.value

        strategy = self.strategy.value

        team = self.team

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempts": attempts,
                "created_at": created_at,
                "ended_at": ended_at,
                "estimated_wait_s": estimated_wait_s,
                "expires_at": expires_at,
                "id": id,
                "queue_position": queue_position,
                "queued_at": queued_at,
                "reason": reason,
                "resolved_participant_id": resolved_participant_id,
                "ring_order": ring_order,
                "round": round_,
                "state": state,
                "strategy": strategy,
                "team": team,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dispatch_attempt_view import DispatchAttemptView

        d = dict(src_dict)
        attempts = []
        _attempts = d.pop("attempts")
        for attempts_item_data in _attempts:
            attempts_item = DispatchAttemptView.from_dict(attempts_item_data)

            attempts.append(attempts_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

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

        def _parse_estimated_wait_s(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        estimated_wait_s = _parse_estimated_wait_s(d.pop("estimated_wait_s"))

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))

        id = d.pop("id")

        def _parse_queue_position(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        queue_position = _parse_queue_position(d.pop("queue_position"))

        def _parse_queued_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                queued_at_type_0 = datetime.datetime.fromisoformat(data)

                return queued_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        queued_at = _parse_queued_at(d.pop("queued_at"))

        def _parse_reason(data: object) -> DispatchReason | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reason_type_0 = DispatchReason(data)

                return reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DispatchReason | None, data)

        reason = _parse_reason(d.pop("reason"))

        def _parse_resolved_participant_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        resolved_participant_id = _parse_resolved_participant_id(
            d.pop("resolved_participant_id")
        )

        ring_order = RingOrder(d.pop("ring_order"))

        round_ = d.pop("round")

        state = DispatchState(d.pop("state"))

        strategy = DispatchStrategy(d.pop("strategy"))

        team = d.pop("team")

        dispatch_view = cls(
            attempts=attempts,
            created_at=created_at,
            ended_at=ended_at,
            estimated_wait_s=estimated_wait_s,
            expires_at=expires_at,
            id=id,
            queue_position=queue_position,
            queued_at=queued_at,
            reason=reason,
            resolved_participant_id=resolved_participant_id,
            ring_order=ring_order,
            round_=round_,
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
