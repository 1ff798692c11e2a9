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

import asyncio
import logging
import time
from collections.abc import Sequence

from ..background import poll_loop
from ..clock import utcnow
from ..config import Settings
from ..db.engine import Database
from . import outbox
from .cursor import RelayCursor
from .outbox import OutboxRow
from .publishers import HubPublisher, Publisher

__all__ = ["OutboxRelay"]

logger = logging.getLogger("callpad.realtime.relay")


class OutboxRelay:
    """Run `run()` for the lifetime of the app; `step()` publishes what is due now."""

    def __init__(
        self, db: Database, settings: Settings, wake: asyncio.Event, publisher: Publisher
    ) -> None:
        self.db = db
        self.wake = wake
        self.publisher = publisher
        self.batch_size = settings.realtime_relay_batch_size
        self.poll_interval_s = settings.realtime_relay_poll_interval_s
        # SQLite serialises writers and assigns ids inside them: no id can commit late.
        self.gap_timeout_s = 0.0 if db.is_sqlite else settings.realtime_relay_gap_timeout_s
        self.cursor: RelayCursor | None = None  # embedded mode, placed by the first step

    async def run(self) -> None:
        await poll_loop(
            self.step,
            interval_s=self.poll_interval_s,
            wake=self.wake,
            name="outbox relay",
        )

    @property
    def delivers_committed(self) -> bool:
        """Whether committed rows are handed to this process's hub by `deliver_committed`
        (embedded mode, once the cursor is placed: rows above it are published whatever
        their mark says, so they may be written marked)."""
        return self.cursor is not None and isinstance(self.publisher, HubPublisher)

    def deliver_committed(self, rows: Sequence[OutboxRow]) -> None:
        """Publish a just-committed transaction's rows (in id order) to this process's hub
        at once, without a database read, as long as every id below each is handled: so a
        channel still gets its publications in outbox order. What cannot go now is left to
        the relay's next step, woken here. Runs in the commit's callback: no await."""
        cursor = self.cursor
        if cursor is None or not isinstance(self.publisher, HubPublisher):
            self.wake.set()
            return
        now = time.monotonic()
        with self.publisher.hub.corked():  # one socket write per connection
            for row in rows:
                if row.id != cursor.position + 1:
                    self.wake.set()  # rows of another transaction or process come first
                    return
                try:
                    self.publisher.publish_now(row)
                except Exception:  # the change is committed: its request must not fail now
                    logger.exception("publishing outbox row %s from its commit failed", row.id)
                    self.wake.set()  # the relay publishes it again (the hub keeps it once)
                    return
                cursor.published((row.id,))
                cursor.advance(now)

    async def step(self) -> int:
        if self.publisher.shared:
            return await self._claim_and_publish()
        return await self._publish_to_own_hub()

    # Centrifugo: claim, publish, mark, in one transaction.

    async def _claim_and_publish(self) -> int:
        async with self.db.write() as conn:
            # SQLite's database lock already keeps other claimers out.
            lock = not self.db.is_sqlite
            rows = await outbox.claim_unpublished(conn, self.batch_size, lock=lock)
            if not rows:
                return 0
            await self.publisher.publish(rows)
            await outbox.mark_published(conn, [r.id for r in rows], utcnow())
        return len(rows)

    # Embedded hub: every process publishes every row to its own hub.

    async def _publish_to_own_hub(self) -> int:
        async with self.db.read() as conn:
            cursor = self.cursor
            if cursor is None:
                cursor = self.cursor = RelayCursor(
                    await outbox.relay_start(conn), self.gap_timeout_s
                )
            rows = await outbox.rows_after(conn, cursor.position, self.batch_size + cursor.ahead)
            late: list[OutboxRow] = []
            if self.gap_timeout_s:
                cursor.forget(time.monotonic())
                late = await outbox.late_rows(
                    conn, cursor.position, cursor.skipped, self.batch_size
                )
        # The position may have moved while reading (rows handed over from their commit):
        # a row read above the old position and now at or below it is already published.
        fresh = [r for r in late if cursor.is_new(r.id)]
        fresh += [r for r in rows if r.id > cursor.position and cursor.is_new(r.id)]
        fresh = fresh[: self.batch_size]
        if fresh:
            await self.publisher.publish(fresh)
            cursor.published(r.id for r in fresh)
            unmarked = [r.id for r in fresh if not r.marked]
            if unmarked:
                async with self.db.write() as conn:
                    await outbox.mark_published(conn, unmarked, utcnow())
        cursor.advance(time.monotonic())
        return len(fresh)
