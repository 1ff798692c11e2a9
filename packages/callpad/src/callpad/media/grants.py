"""VoiceJoinGrant: a real LiveKit access token for one participant of one session's room."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from jwt.warnings import InsecureKeyLengthWarning
from livekit import api

from ..config import DEV_LIVEKIT_SECRET, Settings
from ..domain import Participant, Session
from .livekit.permissions import room_permission

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
    permission = room_permission(session, participant)
    access = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(participant.id)
        .with_name(f"user {participant.user_id}" if participant.user_id else participant.id)
        .with_ttl(ttl)
        .with_grants(
            api.VideoGrants(
                room_join=True,
                room=session.room,
                can_publish=permission.can_publish,
                can_subscribe=permission.can_subscribe,
                can_publish_data=permission.can_publish_data,
            )
        )
    )
    with warnings.catch_warnings():
        if settings.livekit_api_secret == DEV_LIVEKIT_SECRET:
            # `livekit-server --dev` uses a 6-byte secret; it is only ever a dev default.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = access.to_jwt()
    return JoinGrant(settings.livekit_url, token, session.room, participant.id, now + ttl)
