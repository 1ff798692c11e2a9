"""Queries of teams, of who is available to ring, and of the dispatch queue and timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import dispatches, presence, session_users, team_members, teams
from ..domain import Agent, DispatchState

__all__ = [
    "QueuedDispatch",
    "TeamRow",
    "available_agents",
    "delete_team",
    "due_dispatches",
    "get_team",
    "list_teams",
    "next_dispatch_due",
    "queued_dispatches",
    "recent_dequeues",
    "replace_team",
    "set_last_rung_position",
]

SETTINGS = (
    "strategy",
    "ring_order",
    "batch_size",
    "ring_timeout_s",
    "dispatch_timeout_s",
    "when_unavailable",
    "max_queue_wait_s",
    "max_rounds",
    "max_concurrent_calls",
    "wrap_up_s",
)


@dataclass(frozen=True, slots=True)
class TeamRow:
    name: str
    members: list[int]
    settings: dict[str, object]  # the columns named in SETTINGS
    updated_at: datetime
    last_rung_position: int | None


async def replace_team(
    conn: AsyncConnection,
    vendor_id: int,
    team: str,
    user_ids: list[int],
    settings: dict[str, object],
    now: datetime,
) -> None:
    """Create or overwrite a team: its settings and its members in ring order."""
    values = {k: settings[k] for k in SETTINGS}
    updated = await conn.execute(
        teams.update()
        .where(teams.c.vendor_id == vendor_id, teams.c.name == team)
        .values(updated_at=now, **values)
    )
    if updated.rowcount == 0:
        await conn.execute(
            teams.insert().values(vendor_id=vendor_id, name=team, updated_at=now, **values)
        )
    await conn.execute(
        team_members.delete().where(
            team_members.c.vendor_id == vendor_id, team_members.c.team == team
        )
    )
    if user_ids:
        await conn.execute(
            team_members.insert(),
            [
                {"vendor_id": vendor_id, "team": team, "user_id": uid, "position": i}
                for i, uid in enumerate(user_ids)
            ],
        )


async def get_team(conn: AsyncConnection, vendor_id: int, team: str) -> TeamRow | None:
    found = await _teams(conn, vendor_id, teams.c.name == team)
    return found[0] if found else None


async def list_teams(
    conn: AsyncConnection, vendor_id: int, *, limit: int, after: str | None = None
) -> list[TeamRow]:
    """Up to `limit` teams by name, from after the name `after` (the primary key
    `(vendor_id, name)` serves this order)."""
    return await _teams(
        conn, vendor_id, None if after is None else teams.c.name > after, limit=limit
    )


async def _teams(
    conn: AsyncConnection,
    vendor_id: int,
    condition: sa.ColumnElement[bool] | None,
    *,
    limit: int | None = None,
) -> list[TeamRow]:
    query = sa.select(teams).where(teams.c.vendor_id == vendor_id).order_by(teams.c.name)
    if condition is not None:
        query = query.where(condition)
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    members: dict[str, list[int]] = {}
    for name, user_id in await conn.execute(
        sa.select(team_members.c.team, team_members.c.user_id)
        .where(
            team_members.c.vendor_id == vendor_id,
            team_members.c.team.in_([row.name for row in rows]),
        )
        .order_by(team_members.c.team, team_members.c.position)
    ):
        members.setdefault(name, []).append(int(user_id))
    return [
        TeamRow(
            name=row.name,
            members=members.get(row.name, []),
            settings={k: getattr(row, k) for k in SETTINGS},
            updated_at=row.updated_at,
            last_rung_position=row.last_rung_position,
        )
        for row in rows
    ]


async def delete_team(conn: AsyncConnection, vendor_id: int, team: str) -> bool:
    await conn.execute(
        team_members.delete().where(
            team_members.c.vendor_id == vendor_id, team_members.c.team == team
        )
    )
    deleted = await conn.execute(
        teams.delete().where(teams.c.vendor_id == vendor_id, teams.c.name == team)
    )
    return deleted.rowcount > 0


async def set_last_rung_position(
    conn: AsyncConnection, vendor_id: int, team: str, position: int
) -> None:
    await conn.execute(
        teams.update()
        .where(teams.c.vendor_id == vendor_id, teams.c.name == team)
        .values(last_rung_position=position)
    )


async def available_agents(
    conn: AsyncConnection,
    vendor_id: int,
    team: str,
    max_concurrent_calls: int,
    now: datetime,
    *,
    lock: bool,
) -> list[Agent]:
    """The team's members who may be rung now: present (`available`), past their
    after-call work, and in fewer live or ringing sessions than the team allows.

    With `lock` (PostgreSQL), their presence rows stay locked until the transaction
    ends, and the busy count is read after the locks are held: two transactions ringing
    the same agent for different calls take turns, and the second sees the first's ring.
    Rows are locked in user id order, so such transactions cannot deadlock.
    """
    present = (
        sa.select(team_members.c.user_id, team_members.c.position, presence.c.idle_since)
        .join(
            presence,
            sa.and_(
                presence.c.vendor_id == team_members.c.vendor_id,
                presence.c.user_id == team_members.c.user_id,
            ),
        )
        .where(
            team_members.c.vendor_id == vendor_id,
            team_members.c.team == team,
            presence.c.status == "available",
            sa.or_(presence.c.wrap_up_until.is_(None), presence.c.wrap_up_until <= now),
        )
        .order_by(team_members.c.user_id)
    )
    if lock:
        present = present.with_for_update(of=presence)
    rows = (await conn.execute(present)).all()
    if not rows:
        return []
    busy: dict[int, int] = dict(
        (
            await conn.execute(
                sa.select(session_users.c.user_id, sa.func.count())
                .where(
                    session_users.c.live.is_(True),
                    session_users.c.user_id.in_([r.user_id for r in rows]),
                )
                .group_by(session_users.c.user_id)
            )
        ).all()
    )
    return [
        Agent(int(r.user_id), r.position, r.idle_since)
        for r in rows
        if busy.get(r.user_id, 0) < max_concurrent_calls
    ]


# Built once: the timer loop and the dispatch queue run these at every wake-up.
_WAITING = dispatches.c.state.in_([DispatchState.RINGING.value, DispatchState.QUEUED.value])
_NEXT_DISPATCH_DUE = sa.select(sa.func.min(dispatches.c.due_at)).where(_WAITING)
_DUE_DISPATCHES = (
    sa.select(dispatches.c.session_id, dispatches.c.id)
    .where(_WAITING, dispatches.c.due_at <= sa.bindparam("now"))
    .order_by(dispatches.c.due_at)
    .limit(sa.bindparam("limit"))
)
_QUEUED_DISPATCHES = (
    sa.select(
        dispatches.c.session_id,
        dispatches.c.id,
        dispatches.c.vendor_id,
        dispatches.c.team,
        dispatches.c.queue_position,
    )
    .where(dispatches.c.state == DispatchState.QUEUED.value)
    .order_by(dispatches.c.vendor_id, dispatches.c.team, dispatches.c.queued_at, dispatches.c.id)
    .limit(sa.bindparam("limit"))
)


async def next_dispatch_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest open dispatch times out (or its queue wait ends)."""
    due: datetime | None = (await conn.execute(_NEXT_DISPATCH_DUE)).scalar_one_or_none()
    return due


async def due_dispatches(
    conn: AsyncConnection, now: datetime, limit: int = 100
) -> list[tuple[str, str]]:
    """(session id, dispatch id) of open dispatches past their deadline, earliest first."""
    rows = await conn.execute(_DUE_DISPATCHES, {"now": now, "limit": limit})
    return [(row.session_id, row.id) for row in rows]


@dataclass(frozen=True, slots=True)
class QueuedDispatch:
    session_id: str
    dispatch_id: str
    vendor_id: int
    team: str
    queue_position: int | None


async def queued_dispatches(conn: AsyncConnection, limit: int = 500) -> list[QueuedDispatch]:
    """Every queued dispatch, each team's oldest first."""
    rows = await conn.execute(_QUEUED_DISPATCHES, {"limit": limit})
    return [QueuedDispatch(*row) for row in rows]


async def recent_dequeues(
    conn: AsyncConnection, vendor_id: int, team: str, limit: int = 20
) -> list[datetime]:
    """When the team's queue last moved (a queued call started ringing), latest first."""
    rows = await conn.execute(
        sa.select(dispatches.c.dequeued_at)
        .where(
            dispatches.c.vendor_id == vendor_id,
            dispatches.c.team == team,
            dispatches.c.dequeued_at.is_not(None),
        )
        .order_by(dispatches.c.dequeued_at.desc())
        .limit(limit)
    )
    return [at for (at,) in rows]
