"""HTTP shapes of teams and their dispatch settings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from ..domain import DispatchStrategy, RingOrder, WhenUnavailable
from ..inputs import RequestModel, RingTimeout, UserId

__all__ = ["TeamList", "TeamPut", "TeamView"]


class TeamPut(RequestModel):
    """A team: its members in ring order, and how a call to it is dispatched."""

    members: list[UserId] = Field(
        max_length=500, description="Member user ids, in ring order (duplicates are dropped)."
    )
    strategy: DispatchStrategy = Field(
        default=DispatchStrategy.PARALLEL,
        description="`parallel`: every available agent at once (or `batch_size` at a time); "
        "`sequential`: one at a time.",
    )
    ring_order: RingOrder = Field(
        default=RingOrder.IN_ORDER,
        description="Who is rung first: member order, the member after the one rung last "
        "(`round_robin`), or the one idle the longest (`longest_idle`).",
    )
    batch_size: int | None = Field(
        default=None, ge=1, le=500, description="Parallel only: ring this many at a time."
    )
    ring_timeout_s: RingTimeout | None = Field(
        default=None, description="Per attempt; the vendor's ring timeout if null."
    )
    dispatch_timeout_s: float = Field(
        default=120, gt=0, le=3600, description="How long the team is rung before giving up."
    )
    when_unavailable: WhenUnavailable = Field(
        default=WhenUnavailable.QUEUE,
        description="Nobody available: `queue` the call, or `fail` it at once "
        "(the session ends `no_agents_available`).",
    )
    max_queue_wait_s: float = Field(default=300, gt=0, le=86400)
    max_rounds: int = Field(
        default=1, ge=1, le=10, description="Passes over the team before the call is missed."
    )
    max_concurrent_calls: int = Field(
        default=1, ge=1, le=10, description="Sessions an agent may be ringing or talking in."
    )
    wrap_up_s: float = Field(
        default=0, ge=0, le=3600, description="After-call work: not rung this long after a call."
    )

    @model_validator(mode="after")
    def _batches_are_parallel(self) -> TeamPut:
        if self.batch_size is not None and self.strategy is DispatchStrategy.SEQUENTIAL:
            raise ValueError("batch_size applies to the parallel strategy only")
        return self


class TeamView(BaseModel):
    vendor: str
    team: str
    members: list[int]
    strategy: DispatchStrategy
    ring_order: RingOrder
    batch_size: int | None
    ring_timeout_s: float | None
    dispatch_timeout_s: float
    when_unavailable: WhenUnavailable
    max_queue_wait_s: float
    max_rounds: int
    max_concurrent_calls: int
    wrap_up_s: float
    updated_at: datetime


class TeamList(BaseModel):
    teams: list[TeamView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )
