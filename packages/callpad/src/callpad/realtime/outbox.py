"""The transactional outbox: events are rows written in the transaction of their change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import OUTBOX_WRITTEN
from ..db.tables import outbox

__all__ = ["OutboxEvent", "delete_published_events", "write_events"]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One publication: `{topic, data}` on each of `channels`."""

    topic: str
    data: dict[str, Any]
    channels: tuple[str, ...]


_INSERT_EVENTS = outbox.insert()


async def write_events(conn: AsyncConnection, events: Iterable[OutboxEvent], now: datetime) -> int:
    rows = [
        {"topic": e.topic, "data": e.data, "channels": list(e.channels), "created_at": now}
        for e in events
        if e.channels
    ]
    if rows:
        await conn.execute(_INSERT_EVENTS, rows)
        conn.info[OUTBOX_WRITTEN] = True  # wake the relay once this commits
    return len(rows)


async def delete_published_events(conn: AsyncConnection, published_before: datetime) -> None:
    """Drop rows every relay is done with (kept a while for slow processes and audits)."""
    await conn.execute(
        outbox.delete().where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < published_before
        )
    )
