"""Joining and leaving a room with the `livekit` client SDK, bounded.

The client's `connect` and `disconnect` wait for callbacks from its native layer, with no
bound of their own. A join must still never be cancelled: the client (1.2.0) sends a last
request once the native layer answered the join, and a join cancelled in between leaves
that layer waiting for it, which ends in a native panic that the SDK answers by sending
the whole process SIGTERM. So a join is waited for, not cancelled: one given up on (or
whose caller was cancelled) goes on in the background, and the room is left once it is in.

The SDK itself is not imported here (see `__init__`): rooms are passed in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["join_within", "leave_within"]

logger = logging.getLogger("callpad.media.livekit")

# Joins given up on, finishing in the background before they are left: held so they run.
_LATE_JOINS: set[asyncio.Task[None]] = set()


async def join_within(room: Any, url: str, token: str, options: Any, within_s: float) -> bool:
    """`room.connect(url, token, options)`: True once joined, False if it did not finish
    within `within_s` (it goes on, and is left once in); a failed join raises its error."""
    loop = asyncio.get_running_loop()
    joining = loop.create_task(room.connect(url, token, options))
    try:
        await asyncio.wait({joining}, timeout=within_s)
    finally:
        if not joining.done():
            late = loop.create_task(_leave_once_in(room, joining, within_s))
            _LATE_JOINS.add(late)
            late.add_done_callback(_LATE_JOINS.discard)
    if not joining.done():
        return False
    joining.result()
    return True


async def leave_within(room: Any, within_s: float) -> bool:
    """`room.disconnect()`, waited for `within_s` at most (cancelling a leave is safe):
    False, and logged, if it failed or did not finish."""
    try:
        async with asyncio.timeout(within_s):
            await room.disconnect()
    except Exception as exc:  # TimeoutError included
        identity = room.local_participant.identity if room.isconnected() else "?"
        logger.warning("%s did not leave room %s: %r", identity, room.name, exc)
        return False
    return True


async def _leave_once_in(room: Any, joining: asyncio.Task[None], within_s: float) -> None:
    await asyncio.wait({joining})  # not `await joining`: cancelling this would cancel it
    if room.isconnected():
        await leave_within(room, within_s)
