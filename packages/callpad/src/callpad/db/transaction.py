"""The write transaction, and the record of what its writers ask for once it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Database

__all__ = ["AfterCommit", "after_commit", "write_transaction"]

_RECORD = "callpad.after_commit"


@dataclass
class AfterCommit:
    """What a committed transaction wrote that background workers act on, so they are woken
    at once instead of at their next poll."""

    outbox_written: bool = False
    media_jobs_written: bool = False
    # The dispatch queue changed, or a queued team call may now reach an agent.
    dispatch_queue_changed: bool = False


def after_commit(conn: AsyncConnection) -> AfterCommit:
    """The after-commit record of the write transaction `conn` is in; writers flag it."""
    record = conn.info.get(_RECORD)
    if record is None:
        record = conn.info[_RECORD] = AfterCommit()
    assert isinstance(record, AfterCommit)
    return record


@asynccontextmanager
async def write_transaction(
    db: Database, on_commit: Callable[[AfterCommit], None]
) -> AsyncIterator[AsyncConnection]:
    """One write transaction; once it commits, `on_commit` gets what its writers flagged.
    A rolled-back transaction's record is dropped: nothing it wrote exists."""
    async with db.write() as conn:
        try:
            yield conn
        finally:
            record = conn.info.pop(_RECORD, None)
    if record is not None:
        on_commit(record)
