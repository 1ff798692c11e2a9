"""Team use cases (settings, members) and the database side of each dispatch step: who is
available, in which order, and the round-robin cursor. The steps themselves are pure
(`domain.dispatch`); the session services call `advance_dispatches` in their transaction.
"""

from __future__ import annotations

import itertools
import statistics
import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import (
    DispatchPolicy,
    DispatchStrategy,
    RingOrder,
    Session,
    WhenUnavailable,
    ring_order,
)
from ..domain import dispatch as steps
from ..domain import transitions as t
from ..pagination import next_page
from ..problems import Problem, ProblemCode
from ..vendors import VendorRow, member_roles, require_manager, require_member, require_vendor
from . import repository as repo
from .repository import TeamRow
from .schemas import TeamList, TeamPut, TeamView

__all__ = [
    "advance_dispatches",
    "delete_team",
    "estimated_wait",
    "get_team",
    "list_teams",
    "put_team",
    "team_policy",
]


def _view(vendor: VendorRow, row: TeamRow) -> TeamView:
    return TeamView(
        vendor=vendor.slug,
        team=row.name,
        members=row.members,
        updated_at=row.updated_at,
        **row.settings,
    )


async def put_team(
    conn: AsyncConnection, vendor_slug: str, user_id: int, team: str, body: TeamPut, now: datetime
) -> TeamView:
    """Create or replace a team (owners and admins); every member must be the vendor's."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_manager(conn, vendor, user_id)
    members = list(dict.fromkeys(body.members))
    roles = await member_roles(conn, vendor.id, members)
    strangers = [uid for uid in members if uid not in roles]
    if strangers:
        raise Problem(
            422,
            ProblemCode.INVALID_TARGET,
            f"Not members of {vendor.slug!r}: {', '.join(map(str, strangers))}.",
        )
    settings = body.model_dump(exclude={"members"}, mode="json")
    await repo.replace_team(conn, vendor.id, team, members, settings, now)
    row = await repo.get_team(conn, vendor.id, team)
    assert row is not None
    return _view(vendor, row)


async def get_team(conn: AsyncConnection, vendor_slug: str, user_id: int, team: str) -> TeamView:
    """A team and its settings (members of the vendor)."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_member(conn, vendor, user_id)
    return _view(vendor, await _require_team(conn, vendor, team))


async def list_teams(
    conn: AsyncConnection, vendor_slug: str, user_id: int, limit: int, after: str | None = None
) -> TeamList:
    """A page of the vendor's teams by name, after the name `after` (members of the vendor)."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_member(conn, vendor, user_id)
    rows = await repo.list_teams(conn, vendor.id, limit=limit + 1, after=after)
    page, next_cursor = next_page(rows, limit, lambda row: (row.name,))
    return TeamList(teams=[_view(vendor, row) for row in page], next_cursor=next_cursor)


async def delete_team(conn: AsyncConnection, vendor_slug: str, user_id: int, team: str) -> None:
    """Delete a team (owners and admins); calls already ringing it carry on."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_manager(conn, vendor, user_id)
    if not await repo.delete_team(conn, vendor.id, team):
        raise Problem(404, ProblemCode.TEAM_NOT_FOUND, f"No team {team!r}.")


async def _require_team(conn: AsyncConnection, vendor: VendorRow, team: str) -> TeamRow:
    row = await repo.get_team(conn, vendor.id, team)
    if row is None:
        raise Problem(404, ProblemCode.TEAM_NOT_FOUND, f"No team {team!r} in {vendor.slug!r}.")
    return row


async def team_policy(conn: AsyncConnection, vendor: VendorRow, team: str) -> DispatchPolicy:
    """The team's settings as a new dispatch copies them; 404 for an unknown team."""
    s = (await _require_team(conn, vendor, team)).settings
    ring_timeout = s["ring_timeout_s"]
    return DispatchPolicy(
        strategy=DispatchStrategy(str(s["strategy"])),
        ring_order=RingOrder(str(s["ring_order"])),
        batch_size=s["batch_size"],  # type: ignore[arg-type]
        ring_timeout_s=vendor.ring_timeout_s if ring_timeout is None else float(ring_timeout),  # type: ignore[arg-type]
        dispatch_timeout_s=float(s["dispatch_timeout_s"]),  # type: ignore[arg-type]
        when_unavailable=WhenUnavailable(str(s["when_unavailable"])),
        max_queue_wait_s=float(s["max_queue_wait_s"]),  # type: ignore[arg-type]
        max_rounds=int(s["max_rounds"]),  # type: ignore[call-overload]
        max_concurrent_calls=int(s["max_concurrent_calls"]),  # type: ignore[call-overload]
        wrap_up_s=float(s["wrap_up_s"]),  # type: ignore[arg-type]
    )


def _participant_ids() -> Iterator[str]:
    while True:
        yield f"par_{uuid.uuid4().hex}"


async def advance_dispatches(
    conn: AsyncConnection, vendor_id: int, before: Session | None, after: Session, now: datetime
) -> Session:
    """Take the next step of each of `after`'s dispatches that needs one (none of its
    agents is ringing), in the caller's transaction: `after` with the agents rung, the
    dispatch queued, or given up. One version over `before` in all."""
    for dispatch in steps.needing_agents(after):
        policy = dispatch.policy
        agents = await repo.available_agents(
            conn,
            vendor_id,
            dispatch.team,
            policy.max_concurrent_calls,
            now,
            lock=conn.dialect.name != "sqlite",
        )
        last_rung = None
        if policy.ring_order is RingOrder.ROUND_ROBIN:
            team = await repo.get_team(conn, vendor_id, dispatch.team)
            last_rung = team.last_rung_position if team else None
        ordered = ring_order(policy, agents, last_rung)
        stepped = t.advance_dispatch(before, after, dispatch.id, ordered, _participant_ids(), now)
        if policy.ring_order is RingOrder.ROUND_ROBIN:
            position = {a.user_id: a.position for a in agents}
            rung = [
                p.user_id
                for p in stepped.participants
                if p.dispatch_id == dispatch.id and after.participant(p.id) is None
            ]
            if rung and rung[-1] in position:
                await repo.set_last_rung_position(
                    conn, vendor_id, dispatch.team, position[rung[-1]]
                )
        after = stepped
    return after


async def estimated_wait(
    conn: AsyncConnection, vendor_id: int, team: str, position: int
) -> float | None:
    """A queued call's expected wait: its place times the mean interval at which the
    team's queue moved lately; None until it has moved twice."""
    moves = await repo.recent_dequeues(conn, vendor_id, team)
    if len(moves) < 2:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(moves)]
    return round(position * statistics.fmean(gaps), 1)
