"""The loops every background worker runs (ring timeouts, media jobs, the outbox relay).

None of them polls for work that is not there. A loop runs its step when woken: by a
commit in this process, by another process's commit (PostgreSQL NOTIFY, or the SQLite
file changing), or, for timers, when its earliest due row falls due. `interval_s` is only
a slow safety poll, for what no wake-up can announce (a LISTEN connection lost unnoticed).
Safety polls fall on a common grid: every loop with the same interval wakes at the same
multiples of it on the event loop's clock, so an idle process wakes once per interval for
all of them, not once for each (on a virtual machine, waking is most of what a poll costs).

`Deadline` is the one way a loop here sleeps until a time others may bring sooner: the
timer loops' `Alarm` and the embedded hub's ticker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from .clock import utcnow
from .metrics import BACKGROUND_PASSES

__all__ = ["Alarm", "Deadline", "poll_loop", "until_next_multiple"]

logger = logging.getLogger("callpad.background")


class Deadline:
    """When a sleeping loop next wakes: set by the loop before it sleeps, and brought
    sooner (never later) by others, which wakes the sleeper only to sleep less. Times are
    seconds of `clock` (monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at: float | None = None  # None: nothing due
        self._moved = asyncio.Event()

    def sooner(self, at: float) -> None:
        if self.at is None or at < self.at:
            self.at = at
            self._moved.set()

    async def sleep(self, *, at_most: float | None = None) -> None:
        """Until `at`, following it as it moves sooner, or for `at_most` seconds."""
        end = None if at_most is None else self.clock() + at_most
        while True:
            self._moved.clear()
            wake = end if self.at is None else self.at if end is None else min(self.at, end)
            timeout = None if wake is None else wake - self.clock()
            if timeout is not None and timeout <= 0:
                await asyncio.sleep(0)  # due already: still let others run (a cancellation)
                return
            try:
                await asyncio.wait_for(self._moved.wait(), timeout)
            except TimeoutError:
                return


class Alarm:
    """A timer loop's wake-up, rung by commits with the rows' due time: the loop runs its
    step at once when that time has come, otherwise only sleeps less (no step, so no
    query, runs before then)."""

    def __init__(self) -> None:
        self.deadline = Deadline()

    def due(self, at: datetime) -> None:
        self.deadline.sooner(self.deadline.clock() + (at - utcnow()).total_seconds())


async def poll_loop(
    step: Callable[[], Awaitable[int]],
    *,
    interval_s: float,
    wake: asyncio.Event | Alarm | None = None,
    next_due: Callable[[], Awaitable[datetime | None]] | None = None,
    name: str,
) -> None:
    """Run `step` until cancelled: again at once while it finds work, otherwise when
    `wake` is set (an event) or falls due (an alarm), at `next_due()` (the earliest due
    row, for timers: with an alarm), or at the next multiple of `interval_s`, whichever
    comes first.

    A failing step is logged and retried with backoff. A cancellation is never taken for
    a failure, even when a database driver interrupted mid-query turns it into an error
    of its own: a loop that kept retrying then would hang the shutdown that cancelled it.
    """
    task = asyncio.current_task()
    passes = BACKGROUND_PASSES.labels(name)
    alarm = wake if isinstance(wake, Alarm) else None
    if next_due is not None and alarm is None:
        raise TypeError("a loop with next_due sleeps on an Alarm")
    event = wake if isinstance(wake, asyncio.Event) else asyncio.Event()
    failures = 0
    while True:
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        event.clear()
        if alarm is not None:
            alarm.deadline.at = None  # while the step runs, any due time rung must wake it
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
        if alarm is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), until_next_multiple(interval_s))
            continue
        if due is not None:
            alarm.due(due)
        await alarm.deadline.sleep(at_most=until_next_multiple(interval_s))


def until_next_multiple(interval_s: float) -> float:
    """Seconds until the event loop's clock next reaches a multiple of `interval_s`: the
    safety polls' common grid."""
    now = asyncio.get_running_loop().time()
    return interval_s - now % interval_s
