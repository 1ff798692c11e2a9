"""What each party may do in the room: one rule for join grants and for live updates.

A held party may neither publish nor subscribe, so nobody hears it and it hears nobody,
and the server enforces it: a held party that reconnects with a fresh grant is still
held. LiveKit replaces a participant's whole permission set on every update, so every
flag is always written out. When publishing is given back, LiveKit does not republish
the tracks it took away: clients publish their microphone again (docs/media.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ...domain import Participant, ParticipantKind, Session
from ...signing import sign_hs256

if TYPE_CHECKING:
    from livekit.protocol.models import ParticipantPermission

__all__ = [
    "RoomPermission",
    "party_permission",
    "recorder_grant",
    "recorder_identity",
    "room_permission",
    "room_token",
]

# livekit-api's default token lifetime, which the recorder's token has always had.
RECORDER_TOKEN_TTL = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class RoomPermission:
    can_publish: bool
    can_subscribe: bool
    can_publish_data: bool


def party_permission(session: Session, participant: Participant) -> RoomPermission:
    """The permission `participant` has in the session's room right now. A held phone leg
    keeps publishing (LiveKit's SIP service would not publish again after a hold): the
    other parties are unsubscribed from it instead (`rooms.sync_permissions`)."""
    held = session.is_held(participant)
    return RoomPermission(
        can_publish=not held or participant.kind is ParticipantKind.PHONE,
        can_subscribe=not held,
        can_publish_data=True,
    )


def room_permission(session: Session, participant: Participant) -> ParticipantPermission:
    """`party_permission` as LiveKit's API takes it."""
    # Imported here: only the LiveKit backend updates rooms, and the protobuf modules cost
    # start-up time in every other mode.
    from livekit.protocol.models import ParticipantPermission

    permission = party_permission(session, participant)
    return ParticipantPermission(
        can_publish=permission.can_publish,
        can_subscribe=permission.can_subscribe,
        can_publish_data=permission.can_publish_data,
    )


def room_token(
    settings: Settings, *, identity: str, name: str, ttl: timedelta, video: dict[str, Any]
) -> str:
    """A LiveKit access token, with the claims livekit-api's `AccessToken.to_jwt` writes
    (HS256; `iss` the API key, `sub` the identity, the `video` grant in camelCase). Signed
    here: importing livekit-api (and its HTTP client) only to sign a token cost every
    server process a large part of its start-up."""
    now = int(time.time())
    claims = {
        "name": name,
        "video": video,
        "sub": identity,
        "iss": settings.livekit_api_key,
        "nbf": now,
        "exp": now + int(ttl.total_seconds()),
    }
    return sign_hs256(claims, settings.livekit_api_secret)


def recorder_identity(recording_id: str) -> str:
    return f"recorder-{recording_id}"


def recorder_grant(settings: Settings, room: str, recording_id: str) -> str:
    """The recorder's token: hidden from the other parties, listening only."""
    video = {
        "roomJoin": True,
        "room": room,
        "canPublish": False,
        "canSubscribe": True,
        "canPublishData": False,
        "hidden": True,
    }
    return room_token(
        settings,
        identity=recorder_identity(recording_id),
        name="Callpad recorder",
        ttl=RECORDER_TOKEN_TTL,
        video=video,
    )
