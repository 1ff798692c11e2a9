"""The transactional outbox: events are rows written in the transaction of their change,
and the queries the relay reads them back and marks them with.

A row is one event (`{topic, data}` on each of its channels), or a fan-out (its
`fanned_out` column set): one topic with a different data for each channel, stored as a
JSON array in channel order. A team call
rings (or withdraws) hundreds of agents in one change, each with their own invite; one
fan-out row costs a fraction of hundreds of rows to write, and to read in other processes.
"""

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
    "OutboxFanOut",
    "OutboxRow",
    "claim_unpublished",
    "delete_published_events",
    "late_rows",
    "mark_published",
    "relay_start",
    "rows_after",
    "stored_events",
    "write_events",
]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One publication: `{topic, data}` on each of `channels`."""

    topic: str
    data: dict[str, Any]
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutboxFanOut:
    """Publications of one topic with a different data on each channel: `items` holds
    (channel, data) pairs, each channel once."""

    topic: str
    items: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored event, as the relay reads it back."""

    id: int
    topic: str
    channels: tuple[str, ...]
    data_json: str  # the event's data as stored: JSON text, passed on without decoding
    fanned_out: bool  # `data_json` is a JSON array: one data per channel, in channel order
    marked: bool = False  # published_at is set (a relay need not mark it)
    # A fan-out's data for each channel, as JSON text (None: split from `data_json`).
    parts: tuple[str, ...] | None = None

    def payload_json(self) -> str:
        """`{topic, data}` as JSON text, with the data embedded as stored."""
        return _payload_json(self.topic, self.data_json)

    def payload(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": orjson.loads(self.data_json)}

    def publications(self) -> list[tuple[str, str]]:
        """(channel, `{topic, data}` JSON text) for each of the row's channels."""
        if not self.fanned_out:
            text = self.payload_json()
            return [(channel, text) for channel in self.channels]
        parts = self.parts
        if parts is None:
            parts = tuple(json_dumps(data) for data in orjson.loads(self.data_json))
        return [
            (channel, _payload_json(self.topic, part))
            for channel, part in zip(self.channels, parts, strict=True)
        ]

    def payloads(self) -> list[tuple[str, dict[str, Any]]]:
        """(channel, `{topic, data}`) for each of the row's channels."""
        data = orjson.loads(self.data_json)
        if not self.fanned_out:
            return [(channel, {"topic": self.topic, "data": data}) for channel in self.channels]
        return [
            (channel, {"topic": self.topic, "data": part})
            for channel, part in zip(self.channels, data, strict=True)
        ]


def _payload_json(topic: str, data_json: str) -> str:
    return f'{{"topic":{dumps(topic)},"data":{data_json}}}'


def stored_events(
    topic: str, channels: Sequence[str], data: Any, fanned_out: bool
) -> list[tuple[str, list[str], Any]]:
    """A stored row's (topic, channels, data, fanned_out) as the events it publishes: a
    fan-out row becomes one event per channel (for those who read the table itself)."""
    if fanned_out:
        return [(topic, [c], d) for c, d in zip(channels, data, strict=True)]
    return [(topic, list(channels), data)]


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
    outbox.c.fanned_out,
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


async def write_events(
    conn: AsyncConnection, events: Iterable[OutboxEvent | OutboxFanOut], now: datetime
) -> int:
    """Write the events with the transaction; once it commits they are handed to this
    process's hub (when it has one) and remain the durable record for the relays."""
    record = after_commit(conn)
    published_at = now if record.outbox_delivered_here else None
    # Each event's data is encoded once: stored as this text, and handed to the hub as it.
    kept: list[tuple[str, tuple[str, ...], str, tuple[str, ...] | None]] = []
    for e in events:
        if isinstance(e, OutboxFanOut):
            if e.items:
                parts = tuple(json_dumps(data) for _, data in e.items)
                channels = tuple(channel for channel, _ in e.items)
                kept.append((e.topic, channels, "[" + ",".join(parts) + "]", parts))
        elif e.channels:
            kept.append((e.topic, e.channels, json_dumps(e.data), None))
    if not kept:
        return 0
    rows = [
        {
            "topic": topic,
            "data": orjson.Fragment(data_json),
            "fanned_out": parts is not None,
            "channels": list(channels),
            "created_at": now,
            "published_at": published_at,
        }
        for topic, channels, data_json, parts in kept
    ]
    if conn.dialect.name == "sqlite":
        ids = sorted((await conn.execute(_INSERT_EVENTS_SQLITE, rows)).scalars())
    else:
        ids = list((await conn.execute(_INSERT_EVENTS, rows)).scalars())
    record.outbox_written = True
    if record.outbox_delivered_here:
        record.outbox_rows.extend(
            OutboxRow(
                int(i), topic, channels, data_json, parts is not None, marked=True, parts=parts
            )
            for i, (topic, channels, data_json, parts) in zip(ids, kept, strict=True)
        )
    # Events, a fan-out counting one per channel.
    return sum(1 if parts is None else len(parts) for _, _, _, parts in kept)


async def delete_published_events(conn: AsyncConnection, published_before: datetime) -> None:
    """Drop rows every relay is done with (kept a while for slow processes and audits).

    The newest row always stays: SQLite gives a new row the highest id plus one, so with
    every row gone ids would start again at 1, below the relays' cursors, and nothing
    written after would be published by a running process."""
    newest = sa.select(sa.func.max(outbox.c.id)).scalar_subquery()
    await conn.execute(
        outbox.delete().where(
            outbox.c.published_at.is_not(None),
            outbox.c.published_at < published_before,
            outbox.c.id < newest,
        )
    )


def _rows(result: Iterable[Sequence[Any]]) -> list[OutboxRow]:
    return [
        OutboxRow(
            int(outbox_id),
            str(topic),
            tuple(channels or ()),
            str(data_json),
            bool(fanned_out),
            bool(marked),
        )
        for outbox_id, topic, channels, data_json, fanned_out, marked in result
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
