"""The transactional outbox: events are rows written in the transaction of their change,
and the queries the relay reads them back and marks them with."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.engine import json_dumps
from ..db.tables import outbox
from ..db.transaction import after_commit
from .protocol import dumps

__all__ = [
    "OutboxEvent",
    "OutboxRow",
    "claim_unpublished",
    "delete_published_events",
    "late_rows",
    "mark_published",
    "relay_start",
    "rows_after",
    "write_events",
]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One publication: `{topic, data}` on each of `channels`."""

    topic: str
    data: dict[str, Any]
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored event, as the relay reads it back."""

    id: int
    topic: str
    channels: tuple[str, ...]
    data_json: str  # the event's data as stored: JSON text, passed on without decoding
    marked: bool = False  # published_at is set (a relay need not mark it)

    def payload_json(self) -> str:
        """`{topic, data}` as JSON text, with the data embedded as stored."""
        return f'{{"topic":{dumps(self.topic)},"data":{self.data_json}}}'

    def payload(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": orjson.loads(self.data_json)}


# The ids come back in the order of the rows, so that the committed rows can be handed to
# this process's hub as the relay would read them. SQLite's writer holds the database lock
# and gives each row the next id, so its ids ascend in the order of the rows: sorting them
# is enough, and much cheaper than SQLAlchemy's ordered form (a team call writes hundreds).
_INSERT_EVENTS = outbox.insert().returning(outbox.c.id, sort_by_parameter_order=True)
_INSERT_EVENTS_SQLITE = outbox.insert().returning(outbox.c.id)
# The data is read as the JSON text it is stored as: the hub embeds it in its frames as is,
# instead of decoding every event only to encode it again.
_COLUMNS = (
    outbox.c.id,
    outbox.c.topic,
    outbox.c.channels,
    sa.cast(outbox.c.data, sa.Text),
    outbox.c.published_at.is_not(None),
)
_UNPUBLISHED = (
    sa.select(*_COLUMNS)
    .where(outbox.c.published_at.is_(None))
    .order_by(outbox.c.id)
    .limit(sa.bindparam("limit"))
)
_AFTER = (
    sa.select(*_COLUMNS)
    .where(outbox.c.id > sa.bindparam("cursor"))
    .order_by(outbox.c.id)
    .limit(sa.bindparam("limit"))
)
_LATE = (
    sa.select(*_COLUMNS)
    .where(
        outbox.c.id <= sa.bindparam("cursor"),
        sa.or_(
            outbox.c.published_at.is_(None),
            outbox.c.id.in_(sa.bindparam("skipped", expanding=True)),
        ),
    )
    .order_by(outbox.c.id)
    .limit(sa.bindparam("limit"))
)
_MARK_PUBLISHED = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)), outbox.c.published_at.is_(None))
    .values(published_at=sa.bindparam("published_at"))
)


async def write_events(conn: AsyncConnection, events: Iterable[OutboxEvent], now: datetime) -> int:
    """Write the events with the transaction; once it commits they are handed to this
    process's hub (when it has one) and remain the durable record for the relays."""
    record = after_commit(conn)
    published_at = now if record.outbox_delivered_here else None
    # Each event's data is encoded once: stored as this text, and handed to the hub as it.
    kept = [(e, json_dumps(e.data)) for e in events if e.channels]
    if not kept:
        return 0
    rows = [
        {
            "topic": e.topic,
            "data": orjson.Fragment(data_json),
            "channels": list(e.channels),
            "created_at": now,
            "published_at": published_at,
        }
        for e, data_json in kept
    ]
    if conn.dialect.name == "sqlite":
        ids = sorted((await conn.execute(_INSERT_EVENTS_SQLITE, rows)).scalars())
    else:
        ids = list((await conn.execute(_INSERT_EVENTS, rows)).scalars())
    record.outbox_written = True
    if record.outbox_delivered_here:
        record.outbox_rows.extend(
            OutboxRow(int(i), e.topic, e.channels, data_json, marked=True)
            for i, (e, data_json) in zip(ids, kept, strict=True)
        )
    return len(rows)


async def delete_published_events(conn: AsyncConnection, published_before: datetime) -> None:
    """Drop rows every relay is done with (kept a while for slow processes and audits)."""
    await conn.execute(
        outbox.delete().where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < published_before
        )
    )


def _rows(result: Iterable[Sequence[Any]]) -> list[OutboxRow]:
    return [
        OutboxRow(int(outbox_id), str(topic), tuple(channels or ()), str(data_json), bool(marked))
        for outbox_id, topic, channels, data_json, marked in result
    ]


async def claim_unpublished(conn: AsyncConnection, limit: int, *, lock: bool) -> list[OutboxRow]:
    """The oldest rows nobody marked published; `lock` holds them (`FOR UPDATE`) until the
    transaction ends, so concurrent claimers take different rows."""
    query = _UNPUBLISHED.with_for_update() if lock else _UNPUBLISHED
    return _rows(await conn.execute(query, {"limit": limit}))


async def rows_after(conn: AsyncConnection, cursor: int, limit: int) -> list[OutboxRow]:
    """Rows with an id above `cursor`, whatever `published_at` says, in id order."""
    return _rows(await conn.execute(_AFTER, {"cursor": cursor, "limit": limit}))


async def late_rows(
    conn: AsyncConnection, cursor: int, skipped: Collection[int], limit: int
) -> list[OutboxRow]:
    """Rows at or below `cursor` that nobody marked published, or whose ids are in
    `skipped` (marked or not), in id order."""
    params = {"cursor": cursor, "skipped": list(skipped), "limit": limit}
    return _rows(await conn.execute(_LATE, params))


async def mark_published(conn: AsyncConnection, ids: list[int], now: datetime) -> None:
    """Mark the rows published; a row another process marked first keeps its time."""
    await conn.execute(_MARK_PUBLISHED, {"ids": ids, "published_at": now})


async def relay_start(conn: AsyncConnection) -> int:
    """Where a starting relay's cursor goes: below the first row nobody marked published,
    else at the last row."""
    first_unpublished = (
        await conn.execute(
            sa.select(sa.func.min(outbox.c.id)).where(outbox.c.published_at.is_(None))
        )
    ).scalar_one_or_none()
    if first_unpublished is not None:
        return int(first_unpublished) - 1
    last = (await conn.execute(sa.select(sa.func.max(outbox.c.id)))).scalar_one_or_none()
    return int(last or 0)
