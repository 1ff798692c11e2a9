"""Queries of the `presence` table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import presence
from ..domain import CallEnding

__all__ = ["PresenceRow", "list_presence", "record_call_endings", "set_status"]


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


async def record_call_endings(
    conn: AsyncConnection, vendor_id: int, endings: Sequence[CallEnding], now: datetime
) -> None:
    """Members whose call ended are idle from now, and wrap up for their team's time."""
    for ending in endings:
        values: dict[str, object] = {"idle_since": now}
        if ending.wrap_up_s > 0:
            values["wrap_up_until"] = now + timedelta(seconds=ending.wrap_up_s)
        await conn.execute(
            presence.update()
            .where(presence.c.vendor_id == vendor_id, presence.c.user_id == ending.user_id)
            .values(**values)
        )


async def list_presence(conn: AsyncConnection, vendor_id: int) -> list[PresenceRow]:
    rows = await conn.execute(
        sa.select(
            presence.c.user_id, presence.c.status, presence.c.updated_at, presence.c.wrap_up_until
        )
        .where(presence.c.vendor_id == vendor_id)
        .order_by(presence.c.user_id)
    )
    return [PresenceRow(*row) for row in rows]
