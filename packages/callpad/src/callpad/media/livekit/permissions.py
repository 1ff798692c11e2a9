"""What each party may do in the room: one rule for join grants and for live updates.

A held party may neither publish nor subscribe, so nobody hears it and it hears nobody,
and the server enforces it: a held party that reconnects with a fresh grant is still
held. LiveKit replaces a participant's whole permission set on every update, so every
flag is always written out. When publishing is given back, LiveKit does not republish
the tracks it took away: clients publish their microphone again (docs/media.md).
"""

from __future__ import annotations

from livekit import api

from ...config import Settings
from ...domain import Participant, ParticipantKind, Session

__all__ = ["recorder_grant", "recorder_identity", "room_permission"]


def room_permission(session: Session, participant: Participant) -> api.ParticipantPermission:
    """The permission `participant` has in the session's room right now. A held phone leg
    keeps publishing (LiveKit's SIP service would not publish again after a hold): the
    other parties are unsubscribed from it instead (`rooms.sync_permissions`)."""
    held = session.is_held(participant)
    return api.ParticipantPermission(
        can_publish=not held or participant.kind is ParticipantKind.PHONE,
        can_subscribe=not held,
        can_publish_data=True,
    )


def recorder_identity(recording_id: str) -> str:
    return f"recorder-{recording_id}"


def recorder_grant(settings: Settings, room: str, recording_id: str) -> str:
    """The recorder's token: hidden from the other parties, listening only."""
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(recorder_identity(recording_id))
        .with_name("Callpad recorder")
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=room,
                can_publish=False,
                can_subscribe=True,
                can_publish_data=False,
                hidden=True,
            )
        )
        .to_jwt()
    )
