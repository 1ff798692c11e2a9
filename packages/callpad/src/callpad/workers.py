"""Background work each server process runs: ring and dispatch timeouts, the dispatch
queue, media jobs, and presence from realtime connections.

Nothing here holds state of its own. Deadlines and jobs live in the database, so a
restarted server picks up where the last one stopped, and two processes on one
PostgreSQL may both try the same job: the session row lock and the job claim let
exactly one of them apply it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from .background import Alarm, poll_loop
from .clock import utcnow
from .context import AppContext, write_transaction
from .db import changes
from .dispatch import repository as dispatch_repo
from .domain import MediaCommand
from .idempotency import delete_expired_keys
from .media.base import MediaReport
from .media.jobs import (
    TakenJob,
    delete_finished_jobs,
    due_job_ids,
    next_job_due,
    schedule_reports,
    settle_job,
    take_job,
)
from .metrics import (
    DISPATCHES_EXPIRED,
    INVITES_EXPIRED,
    MEDIA_JOB_FAILURES,
    MEDIA_JOBS,
    PRESENCE_SET_OFFLINE,
    QUEUED_DISPATCHES_SERVED,
)
from .presence import repository as presence_repo
from .presence.service import offline_after_grace, record_realtime_users
from .realtime.channels import agent_channel
from .realtime.outbox import delete_published_events
from .realtime.publishers import CentrifugoPublisher
from .sessions import repository as session_repo
from .sessions import service
from .webhooks.repository import delete_old_webhooks

__all__ = [
    "MEDIA_CALL_TIMEOUT_S",
    "MEDIA_JOB_ATTEMPTS",
    "PURGE_INTERVAL_S",
    "Workers",
    "retry_delay_s",
]

logger = logging.getLogger("callpad.media")

# How often old rows are purged: they outlive `retention_s` by at most this much. A multiple
# of the default safety poll, so an idle process wakes for both at once.
PURGE_INTERVAL_S = 300.0

# A media command (a LiveKit API call, or joining the room to key in digits) not done in
# this time is abandoned as failed. Its job is leased for longer, so no other process
# takes it while it runs; a process that stopped mid-call leaves it due at the lease's end.
MEDIA_CALL_TIMEOUT_S = 30.0
MEDIA_JOB_LEASE_S = MEDIA_CALL_TIMEOUT_S + 30.0
# A failed command is tried again 0.5 s later, then at doubling delays of at most a
# minute: the 60th failure, 53 minutes on, gives it up (logged, and counted).
MEDIA_JOB_ATTEMPTS = 60


def retry_delay_s(attempts: int) -> float:
    """How long after its `attempts`-th failed attempt a media command is tried again."""
    return min(60.0, 0.5 * 2.0 ** (attempts - 1))


class Workers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._connected: set[int] = set()  # users on this process's hub at the last tick
        # Whether presence must be looked at again within a heartbeat: users are connected
        # to this hub (or, with Centrifugo, members are not offline), or realtime is not up.
        self._heartbeat_due = True

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the loops for the lifetime of the app; cancelled and awaited on exit."""
        self.ctx.media.attach(self.store_report)
        ctx, interval = self.ctx, self.ctx.settings.timer_poll_interval_s
        async with asyncio.TaskGroup() as group:

            def loop(
                step: Callable[[], Awaitable[int]],
                name: str,
                *,
                wake: asyncio.Event | Alarm | None = None,
                next_due: Callable[[], Awaitable[datetime | None]] | None = None,
                interval_s: float = interval,
            ) -> asyncio.Task[None]:
                looping = poll_loop(
                    step, interval_s=interval_s, wake=wake, next_due=next_due, name=name
                )
                return group.create_task(looping, name=name)

            listening = asyncio.Event()
            tasks = [
                group.create_task(
                    self.hear_other_processes(listening), name="other processes' commits"
                )
            ]
            # Once other processes' commits are heard, each loop's first pass misses none.
            await listening.wait()
            tasks += [
                loop(
                    self.expire_due_timers,
                    "timers",
                    wake=ctx.timers_due,
                    next_due=self.next_timer_due,
                ),
                loop(self.serve_dispatch_queue, "dispatch queue", wake=ctx.dispatch_queue_changed),
                loop(
                    self.run_due_media_jobs,
                    "media jobs",
                    wake=ctx.media_jobs_due,
                    next_due=self.next_media_job_due,
                ),
                loop(self.purge_expired_rows, "purge", interval_s=PURGE_INTERVAL_S),
            ]
            if ctx.settings.presence_offline_grace_s > 0:
                presence = loop(
                    self.track_presence,
                    "presence",
                    wake=ctx.presence_due,
                    next_due=self.next_presence_due,
                )
                tasks.append(presence)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()

    async def hear_other_processes(self, listening: asyncio.Event) -> None:
        """Wake this process's workers for what other processes commit (PostgreSQL LISTEN,
        or the SQLite file changing): `db/changes.py`. Sets `listening` once in place."""
        db, settings = self.ctx.db, self.ctx.settings
        if not db.is_sqlite:
            dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            await changes.listen(
                dsn,
                self.ctx.instance,
                self.ctx.wake_workers,
                listening=listening,
                check_interval_s=settings.timer_poll_interval_s,
            )
            return
        path = db.engine.url.database
        listening.set()  # the file is compared with its state from now on
        if path and path != ":memory:":
            await changes.watch_sqlite_file(
                Path(path), self.ctx.wake_workers, interval_s=settings.sqlite_watch_interval_s
            )

    async def next_timer_due(self) -> datetime | None:
        async with self.ctx.db.read() as conn:
            invite = await session_repo.next_invite_due(conn)
            dispatch = await dispatch_repo.next_dispatch_due(conn)
        return min((d for d in (invite, dispatch) if d is not None), default=None)

    async def next_media_job_due(self) -> datetime | None:
        async with self.ctx.db.read() as conn:
            return await next_job_due(conn)

    async def expire_due_timers(self) -> int:
        """Ring timeouts, then dispatch timeouts and queue waits: one poll for both."""
        return await self.expire_due_invites() + await self.expire_due_dispatches()

    async def expire_due_invites(self) -> int:
        """Withdraw every ring past its deadline; each in its own transaction."""
        async with self.ctx.db.read() as conn:
            due = await session_repo.due_invites(conn, utcnow())
        expired = 0
        for session_id, participant_id in due:
            async with write_transaction(self.ctx) as conn:
                if await service.expire_invite(
                    self.ctx, conn, session_id, participant_id, utcnow()
                ):
                    expired += 1
        INVITES_EXPIRED.inc(expired)
        return expired

    async def expire_due_dispatches(self) -> int:
        """Expire every team dispatch past its dispatch timeout or maximum queue wait."""
        async with self.ctx.db.read() as conn:
            due = await dispatch_repo.due_dispatches(conn, utcnow())
        expired = 0
        for session_id, dispatch_id in due:
            async with write_transaction(self.ctx) as conn:
                if await service.expire_dispatch(self.ctx, conn, session_id, dispatch_id, utcnow()):
                    expired += 1
        DISPATCHES_EXPIRED.inc(expired)
        return expired

    async def serve_dispatch_queue(self) -> int:
        """Ring each team's queued calls, oldest first, while the team has a free agent;
        then show the calls still waiting their new places. Each call in its own
        transaction, under its session lock: several processes may serve one queue."""
        async with self.ctx.db.read() as conn:
            queued = await dispatch_repo.queued_dispatches(conn)
        changed = 0
        calls_wait = False
        teams: dict[tuple[int, str], list[dispatch_repo.QueuedDispatch]] = {}
        for entry in queued:
            teams.setdefault((entry.vendor_id, entry.team), []).append(entry)
        for waiting in teams.values():
            still = list(waiting)
            for entry in waiting:
                async with write_transaction(self.ctx) as conn:
                    outcome = await service.serve_queued_dispatch(
                        self.ctx, conn, entry.session_id, entry.dispatch_id, utcnow()
                    )
                if outcome == "nobody":
                    break
                still.remove(entry)
                if outcome == "served":
                    QUEUED_DISPATCHES_SERVED.inc()
                    changed += 1
            calls_wait = calls_wait or bool(still)
            for position, entry in enumerate(still, start=1):
                if entry.queue_position != position:
                    async with write_transaction(self.ctx) as conn:
                        if await service.place_in_queue(
                            self.ctx, conn, entry.session_id, entry.dispatch_id, position, utcnow()
                        ):
                            changed += 1
        self.ctx.dispatch_queue_waiting = calls_wait
        return changed

    async def track_presence(self) -> int:
        """Record the users connected to this process's hub (and those who left it since
        the last tick: they were connected until about now), or in Centrifugo mode the
        members Centrifugo's presence shows on their agent channel; then set offline the
        members no process has seen connected for the grace period. Several processes may
        sweep at once: each member is set offline, and announced, by one of them."""
        found = await self._connected_users()
        if found is None:
            self._heartbeat_due = True  # realtime is not up yet: look again soon
            return 0
        connected, self._heartbeat_due = found
        seen, self._connected = connected | self._connected, connected
        grace = timedelta(seconds=self.ctx.settings.presence_offline_grace_s)
        now = utcnow()
        async with write_transaction(self.ctx) as conn:
            await record_realtime_users(conn, seen, now)
            changed = await offline_after_grace(conn, grace, now)
        PRESENCE_SET_OFFLINE.inc(len(changed))
        return 0

    async def next_presence_due(self) -> datetime | None:
        """Within a heartbeat while presence must be watched; otherwise when the first
        member seen connected once could have been gone for the grace (a user connecting to
        this hub, or a presence set here, rings `presence_due` sooner)."""
        settings = self.ctx.settings
        if self._heartbeat_due:
            return utcnow() + timedelta(seconds=settings.presence_heartbeat_s())
        async with self.ctx.db.read() as conn:
            start = await presence_repo.earliest_grace_start(conn)
        if start is None:
            return None
        return start + timedelta(seconds=settings.presence_offline_grace_s)

    async def _connected_users(self) -> tuple[set[int], bool] | None:
        """The users connected now, and whether to look again within a heartbeat; None
        while realtime is not up."""
        hub = self.ctx.hub
        if hub is not None:
            users = {int(u) for u in hub.connected_users() if u.isdecimal()}
            return users, bool(users)
        relay = self.ctx.relay
        if relay is None or not isinstance(relay.publisher, CentrifugoPublisher):
            return None
        async with self.ctx.db.read() as conn:
            members = await presence_repo.members_not_offline(conn)
        by_channel = {agent_channel(vendor, user): user for vendor, user in members}
        connected = await relay.publisher.connected_channels(sorted(by_channel))
        # Centrifugo tells nobody of a connection: ask it while any member is not offline.
        return {by_channel[c] for c in connected}, bool(members)

    async def run_due_media_jobs(self) -> int:
        """Apply due reports and carry out due commands, each job taken by one process."""
        async with self.ctx.db.read() as conn:
            job_ids = await due_job_ids(conn, utcnow())
        ran = 0
        for job_id in job_ids:
            ran += await self._run_media_job(job_id)
        return ran

    async def _run_media_job(self, job_id: int) -> int:
        """A report is applied in the transaction that takes it, exactly once. A command is
        carried out after that transaction (a LiveKit call never holds the database), within
        `MEDIA_CALL_TIMEOUT_S`; the job's lease outlasts that, so no other process runs it
        meanwhile, and a process that stops mid-call leaves it to be run again."""
        async with write_transaction(self.ctx) as conn:
            now = utcnow()
            job = await take_job(conn, job_id, now, MEDIA_JOB_LEASE_S)
            if job is None:
                return 0
            if job.report is not None:
                MEDIA_JOBS.labels("report").inc()
                await settle_job(conn, job, now)
                await service.apply_media_report(self.ctx, conn, job.session_id, job.report, now)
                return 1
            stored = await session_repo.load_session(conn, job.session_id)
            command = job.command
            if command is None or stored is None:  # nothing to carry out
                await settle_job(conn, job, now)
                return 1
            if not command.repeatable:  # done once taken: a failure or a crash drops it
                await settle_job(conn, job, now)
        MEDIA_JOBS.labels("command").inc()
        deadline = asyncio.timeout(MEDIA_CALL_TIMEOUT_S)
        try:
            async with deadline:
                reports = await self.ctx.media.execute(stored.session, command)
        except Exception as exc:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise asyncio.CancelledError from None  # shutting down: the lease expires
            if deadline.expired():
                error = f"no answer within {MEDIA_CALL_TIMEOUT_S:g} s"
            else:
                error = f"{type(exc).__name__}: {exc}".removesuffix(": ")
            await self._media_command_failed(job, command, error)
            return 1
        async with write_transaction(self.ctx) as conn:
            now = utcnow()
            # One not repeatable is settled already; one whose lease ran out is another
            # attempt's now, and that attempt schedules its own reports.
            if not command.repeatable or await settle_job(conn, job, now):
                await schedule_reports(conn, job.session_id, reports, now)
        return 1

    async def _media_command_failed(self, job: TakenJob, command: MediaCommand, error: str) -> None:
        """Retry with backoff, unless the command is not repeatable or was tried enough."""
        given_up = not command.repeatable or job.attempts >= MEDIA_JOB_ATTEMPTS
        MEDIA_JOB_FAILURES.labels(command.action, "given_up" if given_up else "retried").inc()
        logger.warning(
            "media %s for session %s failed (attempt %d, %s): %s",
            command.action,
            job.session_id,
            job.attempts,
            "given up" if given_up else "will retry",
            error,
        )
        if not command.repeatable:
            return
        async with write_transaction(self.ctx) as conn:
            now = utcnow()
            retry_at = None if given_up else now + timedelta(seconds=retry_delay_s(job.attempts))
            await settle_job(conn, job, now, retry_at=retry_at, error=error)

    async def store_report(self, session_id: str, report: MediaReport) -> None:
        """A report the media backend made on its own time, stored as a due job."""
        async with write_transaction(self.ctx) as conn:
            await schedule_reports(conn, session_id, [report], utcnow())

    async def purge_expired_rows(self) -> int:
        """Forget old idempotency keys, published outbox rows, finished media jobs and the
        ids of applied webhooks (LiveKit stops redelivering within minutes)."""
        now, settings = utcnow(), self.ctx.settings
        kept_since = now - timedelta(seconds=settings.retention_s)
        async with self.ctx.db.write() as conn:
            await delete_expired_keys(conn, now, settings.idempotency_ttl_s)
            await delete_published_events(conn, kept_since)
            await delete_finished_jobs(conn, kept_since)
            await delete_old_webhooks(conn, kept_since)
        return 0
