"""The one loop every background worker runs (ring timeouts, media jobs, the outbox relay)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["poll_loop"]

logger = logging.getLogger("callpad.background")


async def poll_loop(
    step: Callable[[], Awaitable[int]],
    *,
    interval_s: float,
    wake: asyncio.Event | None = None,
    name: str,
) -> None:
    """Run `step` until cancelled: again at once while it finds work, otherwise after
    `interval_s` or as soon as `wake` is set.

    A failing step is logged and retried with backoff. A cancellation is never taken for
    a failure, even when a database driver interrupted mid-query turns it into an error
    of its own: a loop that kept retrying then would hang the shutdown that cancelled it.
    """
    task = asyncio.current_task()
    failures = 0
    while True:
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        if wake is not None:
            wake.clear()
        try:
            done = await step()
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
        if wake is None:
            await asyncio.sleep(interval_s)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval_s)
