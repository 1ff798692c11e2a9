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
    # The embedded realtime hub, set by the lifespan (None in Centrifugo mode).
    hub: Hub | None = None


OUTBOX_WRITTEN = "callpad.outbox_written"
MEDIA_JOBS_WRITTEN = "callpad.media_jobs_written"


@asynccontextmanager
async def write_transaction(ctx: AppContext) -> AsyncIterator[AsyncConnection]:
    """One write transaction. After it commits, the relay and the media worker are woken
    if it wrote outbox rows or media jobs (the writers flag them in `conn.info`)."""
    async with ctx.db.write() as conn:
        try:
            yield conn
        except BaseException:
            conn.info.pop(OUTBOX_WRITTEN, None)
            conn.info.pop(MEDIA_JOBS_WRITTEN, None)
            raise
        wrote_events = conn.info.pop(OUTBOX_WRITTEN, False)
        wrote_jobs = conn.info.pop(MEDIA_JOBS_WRITTEN, False)
    if wrote_events:
        ctx.outbox_written.set()
    if wrote_jobs:
        ctx.media_jobs_written.set()
