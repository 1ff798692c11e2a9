from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dispatch_strategy import DispatchStrategy
from ..models.ring_order import RingOrder
from ..models.when_unavailable import WhenUnavailable

T = TypeVar("T", bound="TeamView")


@_attrs_define
class TeamView:
    """
    Attributes:
        batch_size (int | None):
        dispatch_timeout_s (float):
        max_concurrent_calls (int):
        max_queue_wait_s (float):
        max_rounds (int):
        members (list[int]):
        ring_order (RingOrder): Who is rung first: member order, the member after the last one rung, or the member
            idle the longest.
        ring_timeout_s (float | None):
        strategy (DispatchStrategy):
        team (str):
        updated_at (datetime.datetime):
        vendor (str):
        when_unavailable (WhenUnavailable):
        wrap_up_s (float):
    """

    batch_size: int | None
    dispatch_timeout_s: float
    max_concurrent_calls: int
    max_queue_wait_s: float
    max_rounds: int
    members: list[int]
    ring_order: RingOrder
    ring_timeout_s: float | None
    strategy: DispatchStrategy
    team: str
    updated_at: datetime.datetime
    vendor: str
    when_unavailable: WhenUnavailable
    wrap_up_s: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_size: int | None
        batch_size = self.batch_size

        dispatch_timeout_s = self.dispatch_timeout_s

        max_concurrent_calls = self.max_concurrent_calls

        max_queue_wait_s = self.max_queue_wait_s

        max_rounds = self.max_rounds

        members = self.members

        ring_order = self.ring_order.value

        ring_timeout_s: float | None
        ring_timeout_s = self.ring_timeout_s

        strategy = self.strategy.value

        team = self.team

        updated_at = self.updated_at.isoformat()

        vendor = self.vendor

        when_unavailable = self.when_unavailable.value

        wrap_up_s = self.wrap_up_s

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "batch_size": batch_size,
                "dispatch_timeout_s": dispatch_timeout_s,
                "max_concurrent_calls": max_concurrent_calls,
                "max_queue_wait_s": max_queue_wait_s,
                "max_rounds": max_rounds,
                "members": members,
                "ring_order": ring_order,
                "ring_timeout_s": ring_timeout_s,
                "strategy": strategy,
                "team": team,
                "updated_at": updated_at,
                "vendor": vendor,
                "when_unavailable": when_unavailable,
                "wrap_up_s": wrap_up_s,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_batch_size(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        batch_size = _parse_batch_size(d.pop("batch_size"))

        dispatch_timeout_s = d.pop("dispatch_timeout_s")

        max_concurrent_calls = d.pop("max_concurrent_calls")

        max_queue_wait_s = d.pop("max_queue_wait_s")

        max_rounds = d.pop("max_rounds")

        members = cast(list[int], d.pop("members"))

        ring_order = RingOrder(d.pop("ring_order"))

        def _parse_ring_timeout_s(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ring_timeout_s = _parse_ring_timeout_s(d.pop("ring_timeout_s"))

        strategy = DispatchStrategy(d.pop("strategy"))

        team = d.pop("team")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        vendor = d.pop("vendor")

        when_unavailable = WhenUnavailable(d.pop("when_unavailable"))

        wrap_up_s = d.pop("wrap_up_s")

        team_view = cls(
            batch_size=batch_size,
            dispatch_timeout_s=dispatch_timeout_s,
            max_concurrent_calls=max_concurrent_calls,
            max_queue_wait_s=max_queue_wait_s,
            max_rounds=max_rounds,
            members=members,
            ring_order=ring_order,
            ring_timeout_s=ring_timeout_s,
            strategy=strategy,
            team=team,
            updated_at=updated_at,
            vendor=vendor,
            when_unavailable=when_unavailable,
            wrap_up_s=wrap_up_s,
        )

        team_view.additional_properties = d
        return team_view

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
