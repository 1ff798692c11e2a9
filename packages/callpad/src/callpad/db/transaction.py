"""The write transaction, and the record of what its writers ask for once it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Database

__all__ = ["AfterCommit", "after_commit", "write_transaction"]

_RECORD = "callpad.after_commit"


@dataclass
class AfterCommit:
    """What a committed transaction wrote that background workers act on, so they are woken
    at once instead of at their next poll."""

    outbox_written: bool = False
    # The earliest due time of the media jobs written.
    media_job_due: datetime | None = None
    # The earliest deadline written (a ring, a dispatch timeout or queue wait).
    timer_due: datetime | None = None
    # The dispatch queue changed: a team call joined it, left it or moved in it.
    dispatch_queue_changed: bool = False
    # An agent may have turned free (available, or no longer ringing or talking): a
    # queued team call may now reach them.
    agents_freed: bool = False
    # A member's presence was set: the sweep that may set them offline once the grace has
    # passed is due then. This process's workers only (not announced): it sweeps them.
    presence_set: bool = False
    # Set before the writers run: `on_commit` hands the outbox rows this transaction writes
    # to this process's own hub, so they are written already marked published (the relay
    # then has nothing to mark; other processes read rows by id whatever the mark says).
    outbox_delivered_here: bool = False
    # The outbox rows written (realtime's `OutboxRow`s, in id order), for that hand-over.
    outbox_rows: list[Any] = field(default_factory=list)

    def media_job_at(self, due: datetime) -> None:
        if self.media_job_due is None or due < self.media_job_due:
            self.media_job_due = due

    def timer_at(self, due: datetime) -> None:
        if self.timer_due is None or due < self.timer_due:
            self.timer_due = due

    @property
    def wakes_workers(self) -> bool:
        return (
            self.outbox_written
            or self.dispatch_queue_changed
            or self.agents_freed
            or self.media_job_due is not None
            or self.timer_due is not None
        )


def after_commit(conn: AsyncConnection) -> AfterCommit:
    """The after-commit record of the write transaction `conn` is in; writers flag it."""
    record = conn.info.get(_RECORD)
    if record is None:
        record = conn.info[_RECORD] = AfterCommit()
    assert isinstance(record, AfterCommit)
    return record


@asynccontextmanager
async def write_transaction(
    db: Database,
    on_commit: Callable[[AfterCommit], None],
    *,
    outbox_delivered_here: bool = False,
    announce: Callable[[AsyncConnection, AfterCommit], Awaitable[None]] | None = None,
) -> AsyncIterator[AsyncConnection]:
    """One write transaction; once it commits, `on_commit` gets what its writers flagged,
    before this process's next writer can commit (so committed changes are handed on in
    commit order). A rolled-back transaction's record is dropped: nothing it wrote exists.

    `announce` (PostgreSQL: `changes.announce`) tells the other server processes what the
    writers flagged, inside this transaction: they hear it if and only if it commits, even
    when this process dies right after."""
    record = AfterCommit(outbox_delivered_here=outbox_delivered_here)
    async with db.write(on_commit=lambda: on_commit(record)) as conn:
        conn.info[_RECORD] = record
        try:
            yield conn
            if announce is not None and record.wakes_workers:
                await announce(conn, record)
        finally:
            conn.info.pop(_RECORD, None)
