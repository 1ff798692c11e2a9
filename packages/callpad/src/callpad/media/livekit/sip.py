"""Phone legs: a LiveKit SIP participant dialled through the vendor's outbound trunk.

The trunk (its address, numbers and credentials) lives in LiveKit; Callpad knows only
its id per vendor (`CALLPAD_LIVEKIT_SIP_TRUNKS`), so no trunk secret can reach an API
response. One leg is followed from dialling to hang-up and reported as the participant's
`sip_leg` operation: `ringing` when LiveKit's `sip.callStatus` says so, `answered` when
the far end picks up, `failed` with the SIP status when it does not (486 busy, 603
declined, 408/480 no answer, ...), `ended` when the call is over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from google.protobuf.duration_pb2 import Duration
from livekit import api

from ...config import Settings
from ...domain import Session, SipLegState
from ..base import MediaReport
from ..reports import SipReport
from .rooms import is_gone

__all__ = ["CHECK_S", "check_leg", "dial_request", "follow_leg", "trunk_for"]

# How often any server process looks at a live phone leg, besides the dialling process's
# own 250 ms polling: what reports ringing, answered and hung up when that process stopped.
CHECK_S = 2.0

Report = Callable[[MediaReport], Awaitable[None]]
POLL_S = 0.25


def trunk_for(settings: Settings, vendor: str) -> str | None:
    """The vendor's outbound trunk id, or the deployment's default (`*`)."""
    trunks = settings.livekit_sip_trunks
    return trunks.get(vendor) or trunks.get("*")


def dial_request(
    session: Session, participant_id: str, phone: str, trunk_id: str
) -> api.CreateSIPParticipantRequest:
    return api.CreateSIPParticipantRequest(
        sip_trunk_id=trunk_id,
        sip_call_to=phone,
        room_name=session.room,
        participant_identity=participant_id,
        participant_name=phone,
        participant_attributes={"callpad.session_id": session.id},
        ringing_timeout=Duration(seconds=max(1, int(session.ring_timeout_s))),
        wait_until_answered=True,
    )


async def follow_leg(
    lk: api.LiveKitAPI,
    settings: Settings,
    session: Session,
    participant_id: str,
    phone: str,
    report: Report,
) -> None:
    """Dial, and report the leg's progress until it ends."""

    async def sip(state: SipLegState, status: int | None = None, error: str | None = None) -> None:
        leg = SipReport(participant_id=participant_id, state=state, sip_status=status, error=error)
        await report(MediaReport(0, leg))

    trunk_id = trunk_for(settings, session.vendor)
    if trunk_id is None:
        no_trunk = f"No outbound SIP trunk is configured for {session.vendor!r}."
        await sip(SipLegState.FAILED, error=no_trunk)
        return
    who = api.RoomParticipantIdentity(room=session.room, identity=participant_id)
    ringing = asyncio.get_running_loop().create_task(_report_ringing(lk, who, sip))
    try:
        await lk.sip.create_sip_participant(dial_request(session, participant_id, phone, trunk_id))
    except api.TwirpError as error:
        failed = api.SipCallError.from_server_error(error)
        status, reason = failed.sip_status_code, failed.sip_status
        if status:
            await sip(SipLegState.FAILED, status, f"{status} {reason or ''}".strip())
        else:
            await sip(SipLegState.FAILED, error=f"LiveKit could not dial: {error.code}")
        return
    finally:
        ringing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ringing
    await sip(SipLegState.ANSWERED)
    # No webhook says a SIP call's status changed: poll until the leg is gone.
    while await _still_in_room(lk, who):  # noqa: ASYNC110
        await asyncio.sleep(POLL_S)
    await sip(SipLegState.ENDED)


async def _report_ringing(
    lk: api.LiveKitAPI, who: api.RoomParticipantIdentity, sip: Callable[..., Awaitable[None]]
) -> None:
    """`ringing` once LiveKit's SIP service says the far end rings (no webhook says it)."""
    while True:
        with contextlib.suppress(api.TwirpError):
            info = await lk.room.get_participant(who)
            if info.attributes.get("sip.callStatus") == "ringing":
                await sip(SipLegState.RINGING)
                return
        await asyncio.sleep(POLL_S)


async def _still_in_room(lk: api.LiveKitAPI, who: api.RoomParticipantIdentity) -> bool:
    try:
        info = await lk.room.get_participant(who)
    except api.TwirpError as error:
        if is_gone(error):
            return False
        raise
    return info.attributes.get("sip.callStatus") != "hangup"


async def check_leg(lk: api.LiveKitAPI, session: Session, participant_id: str) -> list[SipReport]:
    """What LiveKit says of the leg now, as the reports the session does not have yet
    (they only move a leg forward, so one it has is harmless). A leg that is gone before
    it was answered is left to the dialling process (it has the SIP status) and to the
    ring timeout: it may simply not have been created yet."""
    leg = session.participant(participant_id)
    if leg is None or leg.sip_leg is None:
        return []
    try:
        info = await lk.room.get_participant(
            api.RoomParticipantIdentity(room=session.room, identity=participant_id)
        )
    except api.TwirpError as error:
        if not is_gone(error):
            raise
        status = "gone"
    else:
        status = info.attributes.get("sip.callStatus", "")
    observed = {"ringing": SipLegState.RINGING, "active": SipLegState.ANSWERED}.get(status)
    if status in ("gone", "hangup") and leg.sip_leg.state is SipLegState.ANSWERED:
        observed = SipLegState.ENDED
    return [] if observed is None else [SipReport(participant_id=participant_id, state=observed)]
