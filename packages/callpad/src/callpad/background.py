"""The loops every background worker runs (ring timeouts, media jobs, the outbox relay).

None of them polls for work that is not there. A loop runs its step when woken: by a
commit in this process, by another process's commit (PostgreSQL NOTIFY, or the SQLite
file changing), or, for timers, when its earliest due row falls due. `interval_s` is only
a slow safety poll, for what no wake-up can announce (a LISTEN connection lost unnoticed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from .clock import utcnow
from .metrics import BACKGROUND_PASSES

__all__ = ["Alarm", "poll_loop", "until_next_multiple"]

logger = logging.getLogger("callpad.background")


class Alarm:
    """Wakes a timer loop for a commit's row due before the one it sleeps for: at once when
    that row is due already, otherwise only to sleep less (no step, so no query, runs)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        # The due time the loop sleeps until; None while it runs or knows of nothing due,
        # when any new due row must wake it.
        self.sleeping_until: datetime | None = None
        # The earliest due time announced since the loop last woke.
        self.announced: datetime | None = None

    def due(self, at: datetime) -> None:
        if self.sleeping_until is None or at < self.sleeping_until:
            if self.announced is None or at < self.announced:
                self.announced = at
            self.event.set()

    def earlier_deadline(self) -> datetime | None:
        """What woke the loop, when it is a deadline still to come; None when the loop
        must run its step now. Clears the wake-up."""
        announced, self.announced = self.announced, None
        self.event.clear()
        if announced is None or announced <= utcnow():
            return None
        return announced


async def poll_loop(
    step: Callable[[], Awaitable[int]],
    *,
    interval_s: float,
    wake: asyncio.Event | Alarm | None = None,
    next_due: Callable[[], Awaitable[datetime | None]] | None = None,
    name: str,
) -> None:
    """Run `step` until cancelled: again at once while it finds work, otherwise when
    `wake` is set, at `next_due()` (the earliest due row, for timers), or after
    `interval_s`, whichever comes first.

    A failing step is logged and retried with backoff. A cancellation is never taken for
    a failure, even when a database driver interrupted mid-query turns it into an error
    of its own: a loop that kept retrying then would hang the shutdown that cancelled it.
    """
    task = asyncio.current_task()
    passes = BACKGROUND_PASSES.labels(name)
    alarm = wake if isinstance(wake, Alarm) else None
    event = wake.event if isinstance(wake, Alarm) else wake or asyncio.Event()
    failures = 0
    while True:
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        event.clear()
        if alarm is not None:
            alarm.sleeping_until = None
            alarm.announced = None
        passes.inc()
        try:
            done = await step()
            due = None if done or next_due is None else await next_due()
            failures = 0
        except Exception:
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None
            failures += 1
            logger.exception("%s failed; retrying", name)
            await asyncio.sleep(min(5.0, 0.05 * 2**failures))
            continue
        if done:
            continue
        await _sleep(event, alarm, due, interval_s)


async def _sleep(
    event: asyncio.Event, alarm: Alarm | None, due: datetime | None, interval_s: float
) -> None:
    """Until `event`, `due` or `interval_s`. An alarm that only moves the deadline earlier
    shortens the sleep without waking the loop's step."""
    while True:
        timeout = until_next_multiple(interval_s)
        if due is not None:
            if alarm is not None:
                alarm.sleeping_until = due
            timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return
        earlier = alarm.earlier_deadline() if alarm is not None else None
        if earlier is None:
            return
        due = earlier if due is None else min(due, earlier)


def until_next_multiple(interval_s: float) -> float:
    """Seconds until the event loop's clock next reaches a multiple of `interval_s`: the
    safety polls' common grid."""
    now = asyncio.get_running_loop().time()
    return interval_s - now % interval_s
