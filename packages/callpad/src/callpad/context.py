"""What the running server owns, built once by the app's lifespan and shared by requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from .auth import TokenVerifier
from .background import Alarm
from .clock import utcnow
from .config import Settings
from .db import changes
from .db.engine import Database
from .db.transaction import AfterCommit
from .db.transaction import write_transaction as _write_transaction
from .media.base import MediaBackend

if TYPE_CHECKING:
    from .realtime.hub import Hub
    from .realtime.relay import OutboxRelay

__all__ = ["AppContext", "write_transaction"]


@dataclass
class AppContext:
    settings: Settings
    db: Database
    verifier: TokenVerifier
    media: MediaBackend
    # Set after a commit (here or, announced, in another process) that wrote outbox rows,
    # so the relay acts at once; rung when a commit writes a media job or a deadline due
    # before the one its worker sleeps until.
    outbox_written: asyncio.Event = field(default_factory=asyncio.Event)
    media_jobs_due: Alarm = field(default_factory=Alarm)
    timers_due: Alarm = field(default_factory=Alarm)
    # Rung when a user connects to this process's hub (the presence heartbeat is due) and
    # when a member's presence is set here (the offline sweep is due after the grace).
    presence_due: Alarm = field(default_factory=Alarm)
    # Set after a commit that changed the dispatch queue, or that may let a queued team
    # call reach an agent (one turned available, or stopped ringing or talking) while
    # calls wait, so the queue is served at once.
    dispatch_queue_changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Whether team calls waited in the queue after it was last served (True until then):
    # a freed agent wakes the queue only then, so ordinary calls cost it no query.
    dispatch_queue_waiting: bool = True
    # The embedded realtime hub, set by the lifespan (None in Centrifugo mode).
    hub: Hub | None = None
    # The outbox relay, set by the lifespan.
    relay: OutboxRelay | None = None
    # Names this app's announcements of its commits (PostgreSQL NOTIFY), so that it skips
    # its own: its workers were woken by the commit itself.
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)

    def wake_workers(self, committed: AfterCommit) -> None:
        """Hand committed events to this process's hub; wake the relay, the media worker
        and the dispatch queue for what a transaction committed."""
        if committed.outbox_rows and self.relay is not None:
            self.relay.deliver_committed(committed.outbox_rows)
        elif committed.outbox_written:
            self.outbox_written.set()
        if committed.media_job_due is not None:
            self.media_jobs_due.due(committed.media_job_due)
        if committed.timer_due is not None:
            self.timers_due.due(committed.timer_due)
        if committed.presence_set:
            grace = timedelta(seconds=self.settings.presence_offline_grace_s)
            self.presence_due.due(utcnow() + grace)
        if committed.dispatch_queue_changed or (
            committed.agents_freed and self.dispatch_queue_waiting
        ):
            self.dispatch_queue_changed.set()

    def user_connected(self) -> None:
        """A user connected to this process's hub: record them within a heartbeat."""
        heartbeat = timedelta(seconds=self.settings.presence_heartbeat_s())
        self.presence_due.due(utcnow() + heartbeat)

    async def announce(self, conn: AsyncConnection, committed: AfterCommit) -> None:
        """Tell the other processes what this transaction flagged (PostgreSQL)."""
        await changes.announce(conn, committed, self.instance)


@asynccontextmanager
async def write_transaction(ctx: AppContext) -> AsyncIterator[AsyncConnection]:
    """One write transaction on the app's database, waking the workers once it commits."""
    relay = ctx.relay
    delivered_here = relay is not None and relay.delivers_committed
    async with _write_transaction(
        ctx.db,
        ctx.wake_workers,
        outbox_delivered_here=delivered_here,
        announce=None if ctx.db.is_sqlite else ctx.announce,
    ) as conn:
        yield conn
