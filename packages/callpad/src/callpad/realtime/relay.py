"""The outbox relay: committed outbox rows become publications, in id order, once per channel.

Only committed rows are visible to the relay's reads, so an event whose change rolled back
is never published. Two ways to run, chosen by the publisher:

- Embedded hub (`publisher.shared is False`): every server process has its own hub and its
  own clients, so every process publishes every row to its own hub. Each relay keeps its
  cursor in memory, starting at the first row nobody marked published (so a restart resumes
  there), reads `id > cursor` whatever `published_at` says, and marks what it published
  (idempotent: another process may have marked it first). A row id below a row already
  seen but not yet visible may belong to a transaction still in flight (PostgreSQL assigns
  ids at insert, not at commit): the cursor waits for it up to `gap_timeout_s`, then
  passes it and remembers it as skipped. Rows that commit later still are picked up by a
  sweep below the cursor of the ids this relay skipped (for `SKIPPED_TTL_S`, whoever
  marked them published: another process may have published them to its own hub first)
  and of rows nobody marked (ids this process never saw, e.g. from before it started).
- Centrifugo (`publisher.shared is True`): one shared sink, so rows are claimed: a write
  transaction locks the oldest unpublished rows (`FOR UPDATE` on PostgreSQL, the database
  lock on SQLite), publishes them in one batch and marks them in the same transaction.
  A crash between the publish and the commit republishes the batch with the same
  idempotency keys (the outbox ids), which Centrifugo drops as duplicates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..background import poll_loop
from ..context import AppContext, utcnow
from ..db.tables import outbox
from .publishers import OutboxRow, Publisher

__all__ = ["OutboxRelay"]

logger = logging.getLogger("callpad.realtime.relay")

# The data is read as the JSON text it is stored as: the hub embeds it in its frames as is,
# instead of decoding every event only to encode it again.
_COLUMNS = (outbox.c.id, outbox.c.topic, outbox.c.channels, sa.cast(outbox.c.data, sa.Text))
_AFTER_CURSOR = (
    sa.select(*_COLUMNS)
    .where(outbox.c.id > sa.bindparam("cursor"))
    .order_by(outbox.c.id)
    .limit(sa.bindparam("limit"))
)
_LATE_BELOW_CURSOR = (
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
# How long a skipped id is looked for. A transaction that commits later than this has held
# its locks for minutes; its events still reach processes that had not marked them.
SKIPPED_TTL_S = 600.0
MAX_SKIPPED = 1_000
_MARK_PUBLISHED = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)), outbox.c.published_at.is_(None))
    .values(published_at=sa.bindparam("published_at"))
)


def _row(values: Sequence[Any]) -> OutboxRow:
    outbox_id, topic, channels, data_json = values
    return OutboxRow(int(outbox_id), str(topic), tuple(channels or ()), str(data_json))


class OutboxRelay:
    """Run `run()` for the lifetime of the app; `step()` publishes what is due now."""

    def __init__(self, ctx: AppContext, publisher: Publisher) -> None:
        self.ctx = ctx
        self.publisher = publisher
        settings = ctx.settings
        self.batch_size = settings.realtime_relay_batch_size
        self.poll_interval_s = settings.realtime_relay_poll_interval_s
        # SQLite serialises writers and assigns ids inside them: no id can commit late.
        self.gap_timeout_s = 0.0 if ctx.db.is_sqlite else settings.realtime_relay_gap_timeout_s
        self.cursor: int | None = None  # every id <= cursor is handled (embedded mode)
        self._seen: set[int] = set()  # ids > cursor already published
        self._skipped: dict[int, float] = {}  # ids <= cursor passed unseen -> when (in order)
        self._stalled_since: float | None = None
        self.published = 0

    async def run(self) -> None:
        await poll_loop(
            self.step,
            interval_s=self.poll_interval_s,
            wake=self.ctx.outbox_written,
            name="outbox relay",
        )

    async def step(self) -> int:
        if self.publisher.shared:
            return await self._claim_and_publish()
        return await self._publish_to_own_hub()

    # Centrifugo: claim, publish, mark, in one transaction.

    async def _claim_and_publish(self) -> int:
        async with self.ctx.db.write() as conn:
            query = (
                sa.select(*_COLUMNS)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            if not self.ctx.db.is_sqlite:
                query = query.with_for_update()
            rows = [_row(r) for r in await conn.execute(query)]
            if not rows:
                return 0
            await self.publisher.publish(rows)
            await self._mark(conn, [r.id for r in rows])
        self.published += len(rows)
        return len(rows)

    # Embedded hub: every process publishes every row to its own hub.

    async def _publish_to_own_hub(self) -> int:
        async with self.ctx.db.read() as conn:
            if self.cursor is None:
                self.cursor = await self._start_position(conn)
            after = {"cursor": self.cursor, "limit": self.batch_size + len(self._seen)}
            rows = [_row(r) for r in await conn.execute(_AFTER_CURSOR, after)]
            late: list[OutboxRow] = []
            if self.gap_timeout_s:
                self._forget_skipped(time.monotonic())
                params: dict[str, Any] = {
                    "cursor": self.cursor,
                    "skipped": list(self._skipped),
                    "limit": self.batch_size,
                }
                late = [_row(r) for r in await conn.execute(_LATE_BELOW_CURSOR, params)]
        fresh = [r for r in late + rows if r.id not in self._seen][: self.batch_size]
        if fresh:
            await self.publisher.publish(fresh)
            self._seen.update(r.id for r in fresh if r.id > self.cursor)
            for r in fresh:
                self._skipped.pop(r.id, None)
            async with self.ctx.db.write() as conn:
                await self._mark(conn, [r.id for r in fresh])
            self.published += len(fresh)
        self._advance(time.monotonic())
        return len(fresh)

    async def _start_position(self, conn: AsyncConnection) -> int:
        first_unpublished = (
            await conn.execute(
                sa.select(sa.func.min(outbox.c.id)).where(outbox.c.published_at.is_(None))
            )
        ).scalar_one_or_none()
        if first_unpublished is not None:
            return int(first_unpublished) - 1
        last = (await conn.execute(sa.select(sa.func.max(outbox.c.id)))).scalar_one_or_none()
        return int(last or 0)

    def _advance(self, now: float) -> None:
        assert self.cursor is not None
        seen = self._seen
        while self.cursor + 1 in seen:
            self.cursor += 1
            seen.discard(self.cursor)
        if not seen:
            self._stalled_since = None
            return
        # Ids missing below one already published: in flight, or rolled back.
        if self._stalled_since is None:
            self._stalled_since = now
        if now - self._stalled_since >= self.gap_timeout_s:
            first_seen = min(seen)
            self._skipped.update(dict.fromkeys(range(self.cursor + 1, first_seen), now))
            self.cursor = first_seen - 1
            self._stalled_since = None
            self._advance(now)

    def _forget_skipped(self, now: float) -> None:
        """Stop looking for skipped ids after `SKIPPED_TTL_S`, and beyond `MAX_SKIPPED`."""
        skipped = self._skipped
        while skipped:
            oldest, since = next(iter(skipped.items()))
            if now - since < SKIPPED_TTL_S and len(skipped) <= MAX_SKIPPED:
                return
            del skipped[oldest]

    async def _mark(self, conn: AsyncConnection, ids: list[int]) -> None:
        await conn.execute(_MARK_PUBLISHED, {"ids": ids, "published_at": utcnow()})
