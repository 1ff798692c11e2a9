"""LiveKit webhooks in: verified against the API secret, then read as media reports.

LiveKit signs each delivery with a JWT (the `Authorization` header, bare or as a bearer
token) made with the API secret, valid for five minutes, whose `sha256` claim is the
hash of the body. A delivery without it, with a bad signature, with a body that does
not match, or with an expired token is rejected and changes nothing.

The events Callpad uses, and what for (docs/media.md):

| event | report |
|---|---|
| `participant_joined` | `room_joined`: the party is connected (one of its connections joined) |
| `participant_left`, `participant_connection_aborted` | `room_left`: that connection is gone |
| the same, for a phone leg with `sip.callStatus` hangup | also `sip_check`: look at it now |
| `track_published` (audio) | `room_audio`: the session's first audio is the earliest |
| `room_finished` | `room_finished`: the room closed; a session nobody is in may end |
| `egress_updated`, `egress_ended` | `recording`, `recording_saved`: an Egress recording |

Every report commutes with the others, so webhooks that arrive late, twice or out of
order leave a session as in-order delivery would.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from google.protobuf.json_format import Parse, ParseError
from livekit import api
from livekit.protocol.models import TrackType
from livekit.protocol.webhook import WebhookEvent

from ...config import Settings
from ...domain import ROOM_PREFIX
from ..reports import (
    Report,
    RoomAudioReport,
    RoomFinishedReport,
    RoomJoinedReport,
    RoomLeftReport,
    SipCheckReport,
)
from .egress import egress_reports

__all__ = ["RoomReports", "WebhookRejected", "reports_of", "verify_webhook"]


class WebhookRejected(Exception):
    """Not a delivery LiveKit signed (or no longer a fresh one)."""


def verify_webhook(settings: Settings, body: bytes, authorization: str | None) -> WebhookEvent:
    """The event in `body`, if LiveKit signed exactly this body recently; else raise."""
    if not authorization:
        raise WebhookRejected("The webhook is not signed (no Authorization header).")
    token = authorization.removeprefix("Bearer ").strip()
    verifier = api.TokenVerifier(
        settings.livekit_api_key, settings.livekit_api_secret, leeway=timedelta(seconds=10)
    )
    try:
        claims = verifier.verify(token)
    except jwt.ExpiredSignatureError as exc:
        raise WebhookRejected("The webhook's signature has expired.") from exc
    except jwt.PyJWTError as exc:
        raise WebhookRejected("The webhook's signature is not valid.") from exc
    try:
        signed_hash = base64.b64decode(claims.sha256 or "", validate=True)
    except ValueError as exc:
        raise WebhookRejected("The webhook's signature has no valid body hash.") from exc
    if not signed_hash or signed_hash != hashlib.sha256(body).digest():
        raise WebhookRejected("The webhook's body does not match its signature.")
    try:
        return Parse(body.decode("utf-8"), WebhookEvent(), ignore_unknown_fields=True)
    except (ParseError, UnicodeDecodeError) as exc:
        raise WebhookRejected("The webhook's body is not a LiveKit event.") from exc


@dataclass(frozen=True, slots=True)
class RoomReports:
    """What one event says about one session (by its room)."""

    session_id: str | None
    reports: list[Report]


def _at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def reports_of(event: WebhookEvent) -> RoomReports:
    """The media reports an event carries for its session; none for rooms not Callpad's
    and for events Callpad does not use."""
    room = event.room.name
    session_id = room[len(ROOM_PREFIX) :] if room.startswith(ROOM_PREFIX) else None
    at = _at_ms(event.created_at * 1000)
    who = event.participant
    reports: list[Report] = []
    if event.event == "participant_joined":
        joined = _at_ms(who.joined_at_ms) if who.joined_at_ms else at
        reports.append(RoomJoinedReport(participant_id=who.identity, sid=who.sid, at=joined))
    elif event.event in ("participant_left", "participant_connection_aborted"):
        reports.append(RoomLeftReport(participant_id=who.identity, sid=who.sid))
        if who.attributes.get("sip.callStatus") == "hangup":
            # The leg's call is over: its next durable check need not wait its turn.
            reports.append(SipCheckReport(participant_id=who.identity))
    elif event.event == "track_published" and event.track.type == TrackType.AUDIO:
        reports.append(RoomAudioReport(participant_id=who.identity, at=at))
    elif event.event == "room_finished":
        reports.append(RoomFinishedReport())
    elif event.event in ("egress_started", "egress_updated", "egress_ended"):
        room = event.egress_info.room_name
        session_id = room[len(ROOM_PREFIX) :] if room.startswith(ROOM_PREFIX) else None
        reports.extend(egress_reports(event.egress_info))
    return RoomReports(session_id, reports)
