"""How a server process hears of what other processes commit, so its workers wake then
instead of polling.

- PostgreSQL: a write transaction that flagged work for the workers (outbox rows, a due
  row, the dispatch queue) sends `NOTIFY callpad_changes` with what it flagged, before it
  commits; PostgreSQL delivers it only if it commits, and in commit order. Each process
  LISTENs on a dedicated asyncpg connection, reconnecting with backoff; on each
  (re)connect it treats everything as changed, since notifications sent while it was not
  listening are lost. The connection is checked at each safety poll (a `SELECT 1`), so one
  that died without its socket saying so is replaced within a poll.
- SQLite: the database file and its write-ahead log are written to on every commit,
  whoever made it (a second server, `callpad admin`): inotify wakes the workers then, and
  an idle server does not wake at all (elsewhere, a `stat` of both every `interval_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..background import until_next_multiple
from .filewatch import FileWatch
from .transaction import AfterCommit

if TYPE_CHECKING:
    import asyncpg

__all__ = ["CHANNEL", "announce", "everything_changed", "listen", "watch_sqlite_file"]

logger = logging.getLogger("callpad.db.changes")

CHANNEL = "callpad_changes"
_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")
_RETRY_MAX_S = 5.0


def encode(record: AfterCommit, sender: str) -> str:
    """What the other processes need to wake the right workers (well under NOTIFY's 8000
    bytes): which kinds of work, and the earliest due times."""
    body: dict[str, Any] = {"from": sender}
    if record.outbox_written:
        body["outbox"] = 1
    if record.dispatch_queue_changed:
        body["queue"] = 1
    if record.agents_freed:
        body["freed"] = 1
    if record.timer_due is not None:
        body["timer"] = record.timer_due.timestamp()
    if record.media_job_due is not None:
        body["job"] = record.media_job_due.timestamp()
    return orjson.dumps(body).decode()


def decode(payload: str, receiver: str) -> AfterCommit | None:
    """The record another process announced; None for this process's own (its workers
    were woken by the commit) and for a payload it cannot read."""
    try:
        body = orjson.loads(payload)
        if body.get("from") == receiver:
            return None
        record = AfterCommit(
            outbox_written=bool(body.get("outbox")),
            dispatch_queue_changed=bool(body.get("queue")),
            agents_freed=bool(body.get("freed")),
        )
        if "timer" in body:
            record.timer_at(datetime.fromtimestamp(float(body["timer"]), UTC))
        if "job" in body:
            record.media_job_at(datetime.fromtimestamp(float(body["job"]), UTC))
    except (ValueError, TypeError, AttributeError):
        logger.warning("ignoring an unreadable %s notification: %.200r", CHANNEL, payload)
        return None
    return record


def everything_changed() -> AfterCommit:
    """What to assume after missing notifications: every worker looks again."""
    earliest = datetime.min.replace(tzinfo=UTC)
    record = AfterCommit(outbox_written=True, dispatch_queue_changed=True, agents_freed=True)
    record.timer_at(earliest)
    record.media_job_at(earliest)
    return record


async def announce(conn: AsyncConnection, record: AfterCommit, sender: str) -> None:
    """NOTIFY the other processes of `record`, in `conn`'s transaction."""
    await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": encode(record, sender)})


async def listen(
    dsn: str,
    receiver: str,
    on_change: Callable[[AfterCommit], None],
    *,
    listening: asyncio.Event | None = None,
    check_interval_s: float,
    timeout_s: float = 10,
) -> None:
    """LISTEN until cancelled, calling `on_change` with each other process's record.
    `listening` is set once the first LISTEN is in place (or the first attempt failed):
    workers started after it miss nothing. After a reconnect, everything counts as
    changed. The connection must answer a query every `check_interval_s` (on the safety
    polls' grid: the same wake-up) within `timeout_s`, or it is replaced."""
    import asyncpg  # the PostgreSQL driver; SQLite deployments never load it

    def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        record = decode(payload, receiver)
        if record is not None:
            on_change(record)

    failures, reconnecting = 0, False
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(dsn, timeout=timeout_s)
            lost = asyncio.Event()

            def on_lost(_conn: Any, lost: asyncio.Event = lost) -> None:
                lost.set()

            conn.add_termination_listener(on_lost)
            await conn.add_listener(CHANNEL, notified)
            if reconnecting:
                logger.info("listening for other processes' commits again")
                on_change(everything_changed())  # commits made while not listening
            reconnecting, failures = True, 0
            if listening is not None:
                listening.set()
            while not await _lost_or_checked(conn, lost, check_interval_s, timeout_s):
                pass
            logger.warning("the connection listening for other processes' commits was lost")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            if failures == 0:
                logger.warning("cannot listen for other processes' commits (%s); retrying", exc)
            reconnecting = True
            if listening is not None:
                listening.set()  # the workers start now; the safety polls cover the gap
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout_s)
        failures += 1
        await asyncio.sleep(min(_RETRY_MAX_S, 0.1 * 2**failures))


async def _lost_or_checked(
    conn: asyncpg.Connection, lost: asyncio.Event, check_interval_s: float, timeout_s: float
) -> bool:
    """Wait until the next check; True when the connection was lost or failed the check."""
    import asyncpg

    try:
        await asyncio.wait_for(lost.wait(), until_next_multiple(check_interval_s))
        return True
    except TimeoutError:
        pass
    try:
        await conn.fetchval("SELECT 1", timeout=timeout_s)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return True
    return False


def _file_state(path: Path) -> tuple[int, int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


async def watch_sqlite_file(
    path: Path, on_change: Callable[[AfterCommit], None], *, interval_s: float
) -> None:
    """Call `on_change` when the database file or its write-ahead log is written to (by
    commits of this process too: its workers then look once more), at most every
    `interval_s`. Where inotify is missing, both files are compared every `interval_s`."""
    files = (path, path.with_name(path.name + "-wal"))
    watch = FileWatch.open(path.parent, {f.name for f in files})
    if watch is None:
        await _poll_files(files, on_change, interval_s=interval_s)
        return
    try:
        while True:
            await watch.written()
            on_change(everything_changed())
            await asyncio.sleep(interval_s)
    finally:
        watch.close()


async def _poll_files(
    files: tuple[Path, ...], on_change: Callable[[AfterCommit], None], *, interval_s: float
) -> None:
    last = [_file_state(f) for f in files]
    while True:
        await asyncio.sleep(interval_s)
        now = [_file_state(f) for f in files]
        if now != last:
            last = now
            on_change(everything_changed())
