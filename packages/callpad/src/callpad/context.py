"""What the running server owns, built once by the app's lifespan and shared by requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from .auth import TokenVerifier
from .config import Settings
from .db.engine import Database
from .media.base import MediaBackend

if TYPE_CHECKING:
    from .realtime.hub import Hub

__all__ = [
    "DISPATCH_QUEUE_CHANGED",
    "MEDIA_JOBS_WRITTEN",
    "OUTBOX_WRITTEN",
    "AppContext",
    "utcnow",
    "write_transaction",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    verifier: TokenVerifier
    media: MediaBackend
    # Set after a commit that wrote outbox rows or media jobs, so the background workers
    # act at once instead of at their next poll.
    outbox_written: asyncio.Event = field(default_factory=asyncio.Event)
    media_jobs_written: asyncio.Event = field(default_factory=asyncio.Event)
    # Set after a commit that changed the dispatch queue or may let a queued team call
    # reach an agent (one turned available, or stopped ringing or talking), so the queue
    # is served at once.
    dispatch_queue_changed: asyncio.Event = field(default_factory=asyncio.Event)
    # The embedded realtime hub, set by the lifespan (None in Centrifugo mode).
    hub: Hub | None = None


OUTBOX_WRITTEN = "callpad.outbox_written"
MEDIA_JOBS_WRITTEN = "callpad.media_jobs_written"
DISPATCH_QUEUE_CHANGED = "callpad.dispatch_queue_changed"


@asynccontextmanager
async def write_transaction(ctx: AppContext) -> AsyncIterator[AsyncConnection]:
    """One write transaction. After it commits, the relay, the media worker and the
    dispatch queue are woken if it wrote for them (the writers flag it in `conn.info`)."""
    async with ctx.db.write() as conn:
        try:
            yield conn
        except BaseException:
            conn.info.pop(OUTBOX_WRITTEN, None)
            conn.info.pop(MEDIA_JOBS_WRITTEN, None)
            conn.info.pop(DISPATCH_QUEUE_CHANGED, None)
            raise
        wrote_events = conn.info.pop(OUTBOX_WRITTEN, False)
        wrote_jobs = conn.info.pop(MEDIA_JOBS_WRITTEN, False)
        queue_changed = conn.info.pop(DISPATCH_QUEUE_CHANGED, False)
    if queue_changed:
        ctx.dispatch_queue_changed.set()
    if wrote_events:
        ctx.outbox_written.set()
    if wrote_jobs:
        ctx.media_jobs_written.set()
