"""Queries of the `presence` table."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql.dml import Insert as PostgresqlInsert

from ..db.tables import presence, realtime_users, vendors
from ..domain import CallEnding

__all__ = [
    "GoneMember",
    "PresenceRow",
    "earliest_grace_start",
    "list_presence",
    "members_not_offline",
    "record_call_endings",
    "record_connected",
    "set_gone_members_offline",
    "set_status",
]


@dataclass(frozen=True, slots=True)
class PresenceRow:
    user_id: int
    status: str
    updated_at: datetime
    wrap_up_until: datetime | None


async def set_status(
    conn: AsyncConnection, vendor_id: int, user_id: int, status: str, now: datetime
) -> PresenceRow:
    """Set a member's status; `available` also ends their after-call work."""
    values: dict[str, object] = {"status": status, "updated_at": now}
    if status == "available":
        values["wrap_up_until"] = None
    updated = await conn.execute(
        presence.update()
        .where(presence.c.vendor_id == vendor_id, presence.c.user_id == user_id)
        .values(**values)
        .returning(presence.c.wrap_up_until)
    )
    row = updated.first()
    if row is None:
        await conn.execute(
            presence.insert().values(
                vendor_id=vendor_id, user_id=user_id, status=status, updated_at=now
            )
        )
        return PresenceRow(user_id, status, now, None)
    return PresenceRow(user_id, status, now, row.wrap_up_until)


# Built once, like the other statements of the write path (every call's end runs one):
# SQLAlchemy then reuses the compiled form instead of rebuilding it and its cache key.
_WHERE_MEMBER = (
    presence.c.vendor_id == sa.bindparam("w_vendor_id"),
    presence.c.user_id == sa.bindparam("w_user_id"),
)
_SET_IDLE = presence.update().where(*_WHERE_MEMBER).values(idle_since=sa.bindparam("idle_since"))
_SET_IDLE_WRAPPING_UP = _SET_IDLE.values(wrap_up_until=sa.bindparam("wrap_up_until"))


async def record_call_endings(
    conn: AsyncConnection, vendor_id: int, endings: Sequence[CallEnding], now: datetime
) -> None:
    """Members whose call ended are idle from now, and wrap up for their team's time."""
    for ending in endings:
        values: dict[str, object] = {
            "w_vendor_id": vendor_id,
            "w_user_id": ending.user_id,
            "idle_since": now,
        }
        if ending.wrap_up_s > 0:
            values["wrap_up_until"] = now + timedelta(seconds=ending.wrap_up_s)
            await conn.execute(_SET_IDLE_WRAPPING_UP, values)
        else:
            await conn.execute(_SET_IDLE, values)


async def list_presence(
    conn: AsyncConnection, vendor_id: int, *, limit: int, after: int | None = None
) -> list[PresenceRow]:
    """Up to `limit` members' presence by user id, from after the user id `after` (the
    primary key `(vendor_id, user_id)` serves this order)."""
    query = (
        sa.select(
            presence.c.user_id, presence.c.status, presence.c.updated_at, presence.c.wrap_up_until
        )
        .where(presence.c.vendor_id == vendor_id)
        .order_by(presence.c.user_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(presence.c.user_id > after)
    return [PresenceRow(*row) for row in await conn.execute(query)]


async def record_connected(conn: AsyncConnection, user_ids: Collection[int], now: datetime) -> None:
    """The users were connected to this process's hub at `now` (or until `now`)."""
    if not user_ids:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else _postgresql_insert()
    statement = insert(realtime_users).values(
        [{"user_id": u, "last_seen_at": now} for u in sorted(user_ids)]
    )
    # Only forward: a process whose clock or tick is behind never moves a user back.
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[realtime_users.c.user_id],
            set_={"last_seen_at": statement.excluded.last_seen_at},
            where=realtime_users.c.last_seen_at < statement.excluded.last_seen_at,
        )
    )


async def members_not_offline(conn: AsyncConnection) -> list[tuple[str, int]]:
    """(vendor slug, user id) of every member whose presence is not offline."""
    rows = await conn.execute(
        sa.select(vendors.c.slug, presence.c.user_id)
        .join(vendors, vendors.c.id == presence.c.vendor_id)
        .where(presence.c.status != "offline")
    )
    return [(str(slug), int(user_id)) for slug, user_id in rows]


async def earliest_grace_start(conn: AsyncConnection) -> datetime | None:
    """The earliest moment from which a member not offline and seen connected once could
    be gone: the later of their last connection and their last presence change (what
    `set_gone_members_offline` compares with). None when there is no such member."""
    last_seen, updated = realtime_users.c.last_seen_at, presence.c.updated_at
    later = sa.case((last_seen > updated, last_seen), else_=updated)
    query = (
        sa.select(sa.func.min(later))
        .join_from(presence, realtime_users, realtime_users.c.user_id == presence.c.user_id)
        .where(presence.c.status != "offline")
    )
    start: datetime | None = (await conn.execute(query)).scalar_one_or_none()
    return start


@dataclass(frozen=True, slots=True)
class GoneMember:
    vendor_id: int
    vendor: str
    row: PresenceRow


async def set_gone_members_offline(
    conn: AsyncConnection, gone_before: datetime, now: datetime
) -> list[GoneMember]:
    """Set offline every member not offline who was seen connected to a hub, but not since
    `gone_before`, and whose presence was set before then; the members it changed. A
    member who never connected (presence driven through the API alone) is left alone.

    One conditional UPDATE: when several processes sweep at once, each row changes (and
    is returned) in exactly one of them."""
    gone = sa.exists().where(
        realtime_users.c.user_id == presence.c.user_id,
        realtime_users.c.last_seen_at < gone_before,
    )
    changed = await conn.execute(
        presence.update()
        .where(
            presence.c.status != "offline",
            presence.c.updated_at < gone_before,
            gone,
        )
        .values(status="offline", updated_at=now)
        .returning(presence.c.vendor_id, presence.c.user_id, presence.c.wrap_up_until)
    )
    rows = changed.all()
    if not rows:
        return []
    slugs = dict(
        (
            await conn.execute(
                sa.select(vendors.c.id, vendors.c.slug).where(
                    vendors.c.id.in_({r.vendor_id for r in rows})
                )
            )
        ).all()
    )
    return [
        GoneMember(
            r.vendor_id, slugs[r.vendor_id], PresenceRow(r.user_id, "offline", now, r.wrap_up_until)
        )
        for r in sorted(rows, key=lambda r: (r.vendor_id, r.user_id))
    ]


def _postgresql_insert() -> Callable[[sa.Table], PostgresqlInsert]:
    # Imported when used: PostgreSQL's dialect is a large part of a server's start-up.
    from sqlalchemy.dialects.postgresql import insert

    return insert
