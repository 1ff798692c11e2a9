"""DTMF to a phone leg: keys pressed through LiveKit's SIP service.

LiveKit's server API has no call that sends DTMF: a participant *in the room* publishes
a `SipDTMF` data packet, and the SIP service relays each one it receives to its call as
an RFC 4733 telephone-event (docs: "tones can be sent by any participant in the room").
So Callpad joins the room for the moment it takes, as a hidden participant that may
publish data only, and addresses each digit to the one phone leg it is for (a packet
without a destination would be keyed into every phone leg in the room).

The `livekit` client SDK (`callpad[livekit]`) is imported when digits are sent.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Coroutine
from datetime import timedelta
from typing import Any

from ...config import Settings
from ..base import MediaUnavailable
from .permissions import room_token

__all__ = ["DTMF_CODES", "DtmfNotSent", "dtmf_grant", "send_digits"]

logger = logging.getLogger("callpad.media.dtmf")

# RFC 4733's event codes, which LiveKit's SipDTMF carries beside the digit.
DTMF_CODES = {
    **{str(n): n for n in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}
_TOKEN_TTL = timedelta(minutes=5)
# Data packets are sent asynchronously: leaving at once could drop the last digits.
_FLUSH_S = 0.5
# Each step (join, one digit, leave) waits for a callback from the client's native layer,
# which has no bound of its own: a step that takes this long has hung (each takes well
# under a second). Short enough that a hung join is named before the media job's own
# bound on the whole command (workers.py) cuts it off.
STEP_S = 10.0


class DtmfNotSent(MediaUnavailable):
    """The digits did not all reach LiveKit: joining the room or publishing one of them
    failed or did not finish within STEP_S. The message names the step."""


def dtmf_grant(settings: Settings, room: str, identity: str) -> str:
    """A token to join `room` unseen, publishing data (the digits) and nothing else."""
    video = {
        "roomJoin": True,
        "room": room,
        "canPublish": False,
        "canSubscribe": False,
        "canPublishData": True,
        "hidden": True,
    }
    return room_token(settings, identity=identity, name="Callpad DTMF", ttl=_TOKEN_TTL, video=video)


async def send_digits(settings: Settings, room_name: str, phone_identity: str, digits: str) -> None:
    """Press `digits`, in order, on the phone leg `phone_identity` of `room_name`; raises
    DtmfNotSent when they did not all go out."""
    from livekit import rtc

    identity = f"dtmf-{uuid.uuid4().hex[:12]}"
    room = rtc.Room()
    # The native layer's own bound on each attempt: a join given up on here ends too.
    options = rtc.RoomOptions(auto_subscribe=False, connect_timeout=STEP_S)
    token = dtmf_grant(settings, room_name, identity)
    await _join(room, identity, room.connect(settings.livekit_url, token, options))
    try:
        local = room.local_participant
        for n, digit in enumerate(digits, 1):
            what = f"publishing {digit!r} (digit {n} of {len(digits)})"
            await _step(what, _publish_dtmf(local, digit, phone_identity))
        await asyncio.sleep(_FLUSH_S)
    finally:
        await _leave(room, identity)


# Joins given up on, left to finish (see `_join`) and then left; held here so that they run.
_LATE_JOINS: set[asyncio.Task[None]] = set()


async def _join(room: Any, identity: str, connecting: Coroutine[Any, Any, None]) -> None:
    """`room.connect`, waited for STEP_S at most, and never cancelled: the client (1.2.0)
    sends a last request once the native layer answered the join, and a join cancelled
    in between is waited on natively, then ends in a native panic, which the SDK answers
    by sending the whole process SIGTERM. A join given up on (or whose caller is
    cancelled) goes on in the background, and the room is left once it is in."""
    joining = asyncio.get_running_loop().create_task(connecting, name=f"{identity} joining")
    try:
        await asyncio.wait({joining}, timeout=STEP_S)
    finally:
        if not joining.done():
            late = asyncio.get_running_loop().create_task(_leave_once_in(room, identity, joining))
            _LATE_JOINS.add(late)
            late.add_done_callback(_LATE_JOINS.discard)
    if not joining.done():
        raise DtmfNotSent(f"sending DTMF: joining the room did not finish in {STEP_S:g} s")
    failed = joining.exception()
    if failed is not None:
        raise DtmfNotSent(f"sending DTMF: joining the room failed: {failed!r}") from failed


async def _leave_once_in(room: Any, identity: str, joining: asyncio.Task[None]) -> None:
    await asyncio.wait({joining})  # not `await joining`: cancelling this would cancel it
    if room.isconnected():
        await _leave(room, identity)


async def _step(what: str, step: Awaitable[None]) -> None:
    bound = asyncio.timeout(STEP_S)
    try:
        async with bound:
            await step
    except Exception as exc:
        hung = isinstance(exc, TimeoutError) and bound.expired()
        outcome = f"did not finish in {STEP_S:g} s" if hung else f"failed: {exc!r}"
        raise DtmfNotSent(f"sending DTMF: {what} {outcome}") from exc


async def _leave(room: Any, identity: str) -> None:
    """Leave the room, bounded. A failed or hung leave is logged, not raised: once the
    digits are out, failing the job would have them pressed again when it is retried (the
    hidden participant goes when the room closes)."""
    try:
        async with asyncio.timeout(STEP_S):
            await room.disconnect()
    except Exception as exc:  # TimeoutError included
        logger.warning("DTMF participant %s did not leave its room: %r", identity, exc)


async def _publish_dtmf(local: Any, digit: str, to_identity: str) -> None:
    """`LocalParticipant.publish_dtmf`, addressed to one participant: the client SDK's
    request has `destination_identities`, which its Python wrapper (1.2.0) does not
    expose, so the request is made here as that wrapper makes it."""
    from livekit.rtc._ffi_client import FfiClient
    from livekit.rtc._proto import ffi_pb2
    from livekit.rtc.participant import PublishDTMFError

    request = ffi_pb2.FfiRequest()
    request.publish_sip_dtmf.local_participant_handle = local._ffi_handle.handle
    request.publish_sip_dtmf.code = DTMF_CODES[digit]
    request.publish_sip_dtmf.digit = digit
    request.publish_sip_dtmf.destination_identities.append(to_identity)
    queue = FfiClient.instance.queue.subscribe()
    try:
        response = FfiClient.instance.request(request)
        async_id = response.publish_sip_dtmf.async_id
        done = await queue.wait_for(lambda e: e.publish_sip_dtmf.async_id == async_id)
    finally:
        FfiClient.instance.queue.unsubscribe(queue)
    if done.publish_sip_dtmf.error:
        raise PublishDTMFError(done.publish_sip_dtmf.error)
