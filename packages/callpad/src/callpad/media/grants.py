"""VoiceJoinGrant: a real LiveKit access token for one participant of one session's room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import Settings
from ..domain import Participant, Session
from .livekit.permissions import party_permission, room_token

__all__ = ["JoinGrant", "mint_join_grant"]


@dataclass(frozen=True, slots=True)
class JoinGrant:
    url: str
    token: str
    room: str
    participant_id: str
    expires_at: datetime


def mint_join_grant(
    settings: Settings, session: Session, participant: Participant, now: datetime
) -> JoinGrant:
    """Identity = participant id, scoped to the session's room, with the permissions the
    party has in the room right now (a held party may neither publish nor subscribe)."""
    ttl = timedelta(seconds=settings.join_grant_ttl_s)
    permission = party_permission(session, participant)
    video = {
        "roomJoin": True,
        "room": session.room,
        "canPublish": permission.can_publish,
        "canSubscribe": permission.can_subscribe,
        "canPublishData": permission.can_publish_data,
    }
    name = f"user {participant.user_id}" if participant.user_id else participant.id
    token = room_token(settings, identity=participant.id, name=name, ttl=ttl, video=video)
    return JoinGrant(settings.livekit_url, token, session.room, participant.id, now + ttl)
