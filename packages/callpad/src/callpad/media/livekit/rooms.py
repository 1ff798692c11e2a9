"""The session's room on the LiveKit server: opened with the session, closed when it ends,
and parties taken out of it when they leave or are removed.

Every call is safe to repeat (a media job may run again after a crash): creating a room
is an upsert, and a room or participant that is already gone counts as done.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence

from livekit import api

from ...config import Settings
from ...domain import ParticipantKind, ParticipantState, Session
from .permissions import room_permission

__all__ = ["close_room", "is_gone", "open_room", "remove_from_room", "sync_permissions"]


def is_gone(error: api.TwirpError) -> bool:
    """The room or participant no longer exists: the work is already done."""
    return error.code == api.TwirpErrorCode.NOT_FOUND


async def open_room(lk: api.LiveKitAPI, settings: Settings, session: Session) -> None:
    await lk.room.create_room(
        api.CreateRoomRequest(
            name=session.room,
            # Never closed for emptiness while it may still be answered.
            empty_timeout=max(settings.livekit_empty_timeout_s, int(session.ring_timeout_s) + 30),
            departure_timeout=settings.livekit_departure_timeout_s,
            max_participants=settings.livekit_max_participants,
            metadata=json.dumps({"session_id": session.id, "vendor": session.vendor}),
        )
    )


async def close_room(lk: api.LiveKitAPI, room: str) -> None:
    """Delete the room: LiveKit disconnects everyone still in it."""
    try:
        await lk.room.delete_room(api.DeleteRoomRequest(room=room))
    except api.TwirpError as error:
        if not is_gone(error):
            raise


async def remove_from_room(lk: api.LiveKitAPI, room: str, participant_id: str) -> None:
    try:
        await lk.room.remove_participant(
            api.RoomParticipantIdentity(room=room, identity=participant_id)
        )
    except api.TwirpError as error:
        if not is_gone(error):
            raise


async def sync_permissions(lk: api.LiveKitAPI, session: Session) -> None:
    """Give every party in the room the permission the session says it has now (hold and
    unhold), and subscribe the others to held phone legs or not. Parties not connected
    get theirs in their next join grant."""
    try:
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=session.room))
    except api.TwirpError as error:
        if is_gone(error):
            return
        raise
    for info in listed.participants:
        participant = session.participant(info.identity)
        if participant is None or participant.state is not ParticipantState.ACCEPTED:
            continue
        wanted = room_permission(session, participant)
        if not _same(info.permission, wanted):
            await _ignoring_gone(
                lk.room.update_participant(
                    api.UpdateParticipantRequest(
                        room=session.room, identity=info.identity, permission=wanted
                    )
                )
            )
        if participant.kind is ParticipantKind.PHONE and info.tracks:
            await _hear_phone_leg(lk, session, info, listed.participants)


async def _hear_phone_leg(
    lk: api.LiveKitAPI,
    session: Session,
    leg: api.ParticipantInfo,
    everyone: Sequence[api.ParticipantInfo],
) -> None:
    """Whether the others hear a phone leg: not while it is held."""
    participant = session.participant(leg.identity)
    subscribe = participant is not None and not session.is_held(participant)
    tracks = [t.sid for t in leg.tracks]
    for other in everyone:
        if other.identity != leg.identity:
            await _ignoring_gone(
                lk.room.update_subscriptions(
                    api.UpdateSubscriptionsRequest(
                        room=session.room,
                        identity=other.identity,
                        track_sids=tracks,
                        subscribe=subscribe,
                    )
                )
            )


async def _ignoring_gone(call: Awaitable[object]) -> None:
    try:
        await call
    except api.TwirpError as error:
        if not is_gone(error):
            raise


def _same(have: api.ParticipantPermission, wanted: api.ParticipantPermission) -> bool:
    return (have.can_publish, have.can_subscribe, have.can_publish_data) == (
        wanted.can_publish,
        wanted.can_subscribe,
        wanted.can_publish_data,
    )
