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
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from ...config import Settings
from ..base import MediaUnavailable
from .joining import join_within, leave_within
from .permissions import room_token

__all__ = ["DTMF_CODES", "DtmfNotSent", "dtmf_grant", "send_digits"]


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
    try:
        joined = await join_within(room, settings.livekit_url, token, options, STEP_S)
    except Exception as exc:
        raise DtmfNotSent(f"sending DTMF: joining the room failed: {exc!r}") from exc
    if not joined:
        raise DtmfNotSent(f"sending DTMF: joining the room did not finish in {STEP_S:g} s")
    try:
        local = room.local_participant
        for n, digit in enumerate(digits, 1):
            what = f"publishing {digit!r} (digit {n} of {len(digits)})"
            await _step(what, _publish_dtmf(local, digit, phone_identity))
        await asyncio.sleep(_FLUSH_S)
    finally:
        # Not raised: the digits are out, and a failure would not press them again anyway.
        await leave_within(room, STEP_S)


async def _step(what: str, step: Awaitable[None]) -> None:
    bound = asyncio.timeout(STEP_S)
    try:
        async with bound:
            await step
    except Exception as exc:
        hung = isinstance(exc, TimeoutError) and bound.expired()
        outcome = f"did not finish in {STEP_S:g} s" if hung else f"failed: {exc!r}"
        raise DtmfNotSent(f"sending DTMF: {what} {outcome}") from exc


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
