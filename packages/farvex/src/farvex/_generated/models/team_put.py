from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.dispatch_strategy import DispatchStrategy
from ..models.ring_order import RingOrder
from ..models.when_unavailable import WhenUnavailable
from ..types import UNSET, Unset

T = TypeVar("T", bound="TeamPut")


@_attrs_define
class TeamPut:
    """A team: its members in ring order, and how a call to it is dispatched.

    Attributes:
        members (list[int]): Member user ids, in ring order (duplicates are dropped).
        batch_size (int | None | Unset): Parallel only: ring this many at a time.
        dispatch_timeout_s (float | Unset): How long the team is rung before giving up. Default: 120.0.
        max_concurrent_calls (int | Unset): Sessions an agent may be ringing or talking in. Default: 1.
        max_queue_wait_s (float | Unset):  Default: 300.0.
        max_rounds (int | Unset): Passes over the team before the call is missed. Default: 1.
        ring_order (RingOrder | Unset): Who is rung first: member order, the member after the last one rung, or the
            member
            idle the longest.
        ring_timeout_s (float | None | Unset): Per attempt; the vendor's ring timeout if null.
        strategy (DispatchStrategy | Unset):
        when_unavailable (WhenUnavailable | Unset):
        wrap_up_s (float | Unset): After-call work: not rung this long after a call. Default: 0.0.
    """

    members: list[int]
    batch_size: int | None | Unset = UNSET
    dispatch_timeout_s: float | Unset = 120.0
    max_concurrent_calls: int | Unset = 1
    max_queue_wait_s: float | Unset = 300.0
    max_rounds: int | Unset = 1
    ring_order: RingOrder | Unset = UNSET
    ring_timeout_s: float | None | Unset = UNSET
    strategy: DispatchStrategy | Unset = UNSET
    when_unavailable: WhenUnavailable | Unset = UNSET
    wrap_up_s: float | Unset = 0.0

    def to_dict(self) -> dict[str, Any]:
        members = self.members

        batch_size: int | None | Unset
        if isinstance(self.batch_size, Unset):
            batch_size = UNSET
        else:
            batch_size = self.batch_size

        dispatch_timeout_s = self.dispatch_timeout_s

        max_concurrent_calls = self.max_concurrent_calls

        max_queue_wait_s = self.max_queue_wait_s

        max_rounds = self.max_rounds

        ring_order: str | Unset = UNSET
        if not isinstance(self.ring_order, Unset):
            ring_order = self.ring_order.value

        ring_timeout_s: float | None | Unset
        if isinstance(self.ring_timeout_s, Unset):
            ring_timeout_s = UNSET
        else:
            ring_timeout_s = self.ring_timeout_s

        strategy: str | Unset = UNSET
        if not isinstance(self.strategy, Unset):
            strategy = self.strategy.value

        when_unavailable: str | Unset = UNSET
        if not isinstance(self.when_unavailable, Unset):
            when_unavailable = self.when_unavailable.value

        wrap_up_s = self.wrap_up_s

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "members": members,
            }
        )
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if dispatch_timeout_s is not UNSET:
            field_dict["dispatch_timeout_s"] = dispatch_timeout_s
        if max_concurrent_calls is not UNSET:
            field_dict["max_concurrent_calls"] = max_concurrent_calls
        if max_queue_wait_s is not UNSET:
            field_dict["max_queue_wait_s"] = max_queue_wait_s
        if max_rounds is not UNSET:
            field_dict["max_rounds"] = max_rounds
        if ring_order is not UNSET:
            field_dict["ring_order"] = ring_order
        if ring_timeout_s is not UNSET:
            field_dict["ring_timeout_s"] = ring_timeout_s
        if strategy is not UNSET:
            field_dict["strategy"] = strategy
        if when_unavailable is not UNSET:
            field_dict["when_unavailable"] = when_unavailable
        if wrap_up_s is not UNSET:
            field_dict["wrap_up_s"] = wrap_up_s

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        members = cast(list[int], d.pop("members"))

        def _parse_batch_size(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        batch_size = _parse_batch_size(d.pop("batch_size", UNSET))

        dispatch_timeout_s = d.pop("dispatch_timeout_s", UNSET)

        max_concurrent_calls = d.pop("max_concurrent_calls", UNSET)

        max_queue_wait_s = d.pop("max_queue_wait_s", UNSET)

        max_rounds = d.pop("max_rounds", UNSET)

        _ring_order = d.pop("ring_order", UNSET)
        ring_order: RingOrder | Unset
        if isinstance(_ring_order, Unset):
            ring_order = UNSET
        else:
            ring_order = RingOrder(_ring_order)

        def _parse_ring_timeout_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ring_timeout_s = _parse_ring_timeout_s(d.pop("ring_timeout_s", UNSET))

        _strategy = d.pop("strategy", UNSET)
        strategy: DispatchStrategy | Unset
        if isinstance(_strategy, Unset):
            strategy = UNSET
        else:
            strategy = DispatchStrategy(_strategy)

        _when_unavailable = d.pop("when_unavailable", UNSET)
        when_unavailable: WhenUnavailable | Unset
        if isinstance(_when_unavailable, Unset):
            when_unavailable = UNSET
        else:
            when_unavailable = WhenUnavailable(_when_unavailable)

        wrap_up_s = d.pop("wrap_up_s", UNSET)

        team_put = cls(
            members=members,
            batch_size=batch_size,
            dispatch_timeout_s=dispatch_timeout_s,
            max_concurrent_calls=max_concurrent_calls,
            max_queue_wait_s=max_queue_wait_s,
            max_rounds=max_rounds,
            ring_order=ring_order,
            ring_timeout_s=ring_timeout_s,
            strategy=strategy,
            when_unavailable=when_unavailable,
            wrap_up_s=wrap_up_s,
        )

        return team_put
