"""What a change means outside the aggregate, derived by comparing two versions of it.

Invites and media work are never recorded separately from the session: they follow from
how its participants and recordings moved, so they can never disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .model import (
    Participant,
    ParticipantKind,
    ParticipantState,
    Recording,
    RecordingState,
    Session,
    SessionState,
    SipLegState,
)

__all__ = ["InviteChange", "MediaCommand", "invite_changes", "media_commands"]


@dataclass(frozen=True, slots=True)
class InviteChange:
    """A ring that opened (`state` invited) or closed (any other state)."""

    participant_id: str
    user_id: int | None
    state: ParticipantState
    expires_at: datetime | None

    @property
    def opened(self) -> bool:
        return self.state is ParticipantState.INVITED


MediaAction = Literal[
    "dial",
    "hang_up",
    "remove",
    "start_recording",
    "stop_recording",
    "hold",
    "close_room",
    "send_dtmf",
    "check_sip_leg",
]


@dataclass(frozen=True, slots=True)
class MediaCommand:
    """Work for the media layer: dial a number, start an egress, revoke publishing, ..."""

    action: MediaAction
    participant_id: str | None = None
    phone: str | None = None
    recording_id: str | None = None
    held: bool | None = None
    digits: str | None = None  # send_dtmf: `0-9`, `*`, `#`, `A-D`

    @property
    def repeatable(self) -> bool:
        """Whether carrying it out twice does no harm (a room already closed, a party
        already gone): all but keyed digits, where a "1" pressed twice is another number."""
        return self.action != "send_dtmf"


def invite_changes(before: Session | None, after: Session) -> list[InviteChange]:
    """Every participant whose ring opened or closed between `before` and `after`."""
    was_invited = {
        p.id for p in (before.participants if before else ()) if p.state is ParticipantState.INVITED
    }
    changes = []
    for p in after.participants:
        invited_now = p.state is ParticipantState.INVITED
        if invited_now != (p.id in was_invited):
            changes.append(InviteChange(p.id, p.user_id, p.state, p.expires_at))
    return changes


def media_commands(before: Session | None, after: Session) -> list[MediaCommand]:
    """The media work that makes the room match `after`."""
    previous = {p.id: p for p in (before.participants if before else ())}
    commands = [
        c
        for p in after.participants
        if (c := _participant_command(previous.get(p.id), p, after)) is not None
    ]
    previous_recordings = {r.id: r for r in (before.recordings if before else ())}
    commands += [
        c
        for r in after.recordings
        if (c := _recording_command(previous_recordings.get(r.id), r)) is not None
    ]
    return commands + _room_commands(before, after)


def _participant_command(
    old: Participant | None, p: Participant, after: Session
) -> MediaCommand | None:
    if p.kind is ParticipantKind.PHONE:
        if old is None and p.state is ParticipantState.INVITED and p.phone:
            return MediaCommand("dial", participant_id=p.id, phone=p.phone)
        leg_failed = p.sip_leg is not None and p.sip_leg.state is SipLegState.FAILED
        if old is not None and old.is_live and not p.is_live and not leg_failed:
            # Idempotent on the media side: a leg that already hung up is left alone.
            return MediaCommand("hang_up", participant_id=p.id)
        return None
    if (
        old is not None
        and old.state is ParticipantState.ACCEPTED
        and p.state in (ParticipantState.REMOVED, ParticipantState.LEFT)
        and after.state is not SessionState.ENDED  # closing the room disconnects everyone
    ):
        return MediaCommand("remove", participant_id=p.id)
    return None


def _recording_command(old: Recording | None, r: Recording) -> MediaCommand | None:
    if old is None:
        starting = r.state is RecordingState.STARTING
        return MediaCommand("start_recording", recording_id=r.id) if starting else None
    # A failed recording is stopped too: an egress stuck in STARTING must not go on once
    # Callpad has given up on it (stopping one that is gone is a no-op).
    if old.is_live and r.state in (RecordingState.STOPPED, RecordingState.FAILED):
        return MediaCommand("stop_recording", recording_id=r.id)
    return None


def _room_commands(before: Session | None, after: Session) -> list[MediaCommand]:
    ended = after.state is SessionState.ENDED
    commands = []
    if before is not None and before.on_hold != after.on_hold and not ended:
        commands.append(MediaCommand("hold", held=after.on_hold))
    if ended and (before is None or before.state is not SessionState.ENDED):
        commands.append(MediaCommand("close_room"))
    return commands
