"""The loops every background worker runs (ring timeouts, media jobs, the outbox relay).

None of them polls for work that is not there. A loop runs its step when woken: by a
commit in this process, by another process's commit (PostgreSQL NOTIFY, or the SQLite
file changing), or, for timers, when its earliest due row falls due. `interval_s` is only
a slow safety poll, for what no wake-up can announce (a LISTEN connection lost unnoticed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from .clock import utcnow

__all__ = ["Alarm", "poll_loop"]

logger = logging.getLogger("callpad.background")


class Alarm:
    """Wakes a timer loop when a commit writes a row due before the one it sleeps for."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        # The due time the loop sleeps until; None while it runs or knows of nothing due,
        # when any new due row must wake it.
        self.sleeping_until: datetime | None = None

    def due(self, at: datetime) -> None:
        if self.sleeping_until is None or at < self.sleeping_until:
            self.event.set()

    def ring(self) -> None:
        self.event.set()


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
    alarm = wake if isinstance(wake, Alarm) else None
    event = wake.event if isinstance(wake, Alarm) else wake or asyncio.Event()
    failures = 0
    while True:
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        event.clear()
        if alarm is not None:
            alarm.sleeping_until = None
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
        timeout = interval_s
        if due is not None:
            if alarm is not None:
                alarm.sleeping_until = due
            timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
