"""Every change a session can go through, as pure functions `Session -> Session`.

Each action checks the actor's capability, applies its change, then `_settle`s the
session (answer detection, host hand-over, ending by itself) and bumps `version` once.
An action that changes nothing returns the session it was given, version untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from . import dispatch as d
from .capabilities import check
from .edits import close as _close
from .edits import invite as _invite
from .edits import with_participant as _with_participant
from .effects import MediaCommand
from .errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from .model import (
    Capability,
    Direction,
    DispatchPolicy,
    EndReason,
    Invitee,
    Participant,
    ParticipantKind,
    ParticipantState,
    Recording,
    RecordingFile,
    RecordingState,
    Role,
    Route,
    Session,
    SessionState,
    SipLegState,
    StateReason,
)

__all__ = [
    "accept",
    "add_participant",
    "add_team",
    "advance_dispatch",
    "cancel",
    "check_own_invite",
    "dequeue_dispatch",
    "end",
    "expire_dispatch",
    "expire_invite",
    "hold",
    "joining_participant",
    "leave",
    "place_in_queue",
    "reason_for_sip_status",
    "recording_saved",
    "recording_update",
    "reject",
    "remove_participant",
    "rename",
    "room_audio_started",
    "room_closed",
    "room_joined",
    "room_left",
    "set_connected",
    "sip_leg_update",
    "start_recording",
    "start_session",
    "stop_recording",
    "unhold",
]

MAX_NAME_LENGTH = 200


def start_session(
    *,
    session_id: str,
    vendor: str,
    name: str,
    room: str,
    direction: Direction,
    target: dict[str, object],
    initiator: Invitee,
    initiator_participant_id: str,
    invitees: list[tuple[str, Invitee]],
    ring_timeout_s: float,
    now: datetime,
    team: tuple[str, str, DispatchPolicy] | None = None,
) -> Session:
    """A new ringing session: the initiator accepted, every invitee rung. A team call
    (`team` = dispatch id, team, policy) opens a dispatch instead, whose first agents
    `advance_dispatch` rings in the same transaction."""
    if initiator.user_id is None:
        raise ValueError("the initiator is always a user")
    if not invitees and team is None:
        raise Invalid(ErrorCode.NO_INVITEES, "A session needs someone to call.")
    host = Participant(
        id=initiator_participant_id,
        kind=ParticipantKind.USER,
        role=initiator.role,
        state=ParticipantState.ACCEPTED,
        user_id=initiator.user_id,
        invited_at=now,
        accepted_at=now,
        member=initiator.member,
    )
    session = Session(
        id=session_id,
        vendor=vendor,
        name=_valid_name(name),
        version=1,
        route=Route(
            direction=direction,
            initiator_user_id=initiator.user_id,
            initiator_participant_id=initiator_participant_id,
            target=target,
        ),
        room=room,
        created_at=now,
        participants=(host,),
        ring_timeout_s=ring_timeout_s,
    )
    for participant_id, invitee in invitees:
        session = _invite(session, participant_id, invitee, invited_by=host.id, now=now)
    if team is not None:
        dispatch_id, name, policy = team
        session = d.open_dispatch(session, dispatch_id, name, policy, host.id, now)
        session = replace(session, route=replace(session.route, team=name, dispatch_id=dispatch_id))
    return session


def check_own_invite(session: Session, participant_id: str, user_id: int) -> None:
    """A user may answer only the invites that ring them."""
    participant = session.participant(participant_id)
    if participant is None:
        raise NotFound(ErrorCode.PARTICIPANT_NOT_FOUND, "No such participant.")
    if participant.user_id != user_id:
        raise Forbidden(ErrorCode.FORBIDDEN, "This invite is for another user.")


def joining_participant(session: Session, user_id: int) -> Participant:
    """The user's participant that may join the media room: accepted, in a live session."""
    participant = session.acting_participant(user_id)
    if participant is None or participant.state is not ParticipantState.ACCEPTED:
        raise Conflict(ErrorCode.INVALID_STATE, "Only an accepted participant may join the room.")
    if session.end_reason is not None:
        raise Conflict(ErrorCode.SESSION_ENDED, "The session has ended.")
    return participant


def accept(session: Session, participant_id: str, now: datetime) -> Session:
    """Answer; a dispatch's first answer resolves it and withdraws its other rings."""
    invitee = _ringing(session, participant_id, Capability.ACCEPT_INVITE, now)
    answered = _accepted(session, invitee, now)
    return _commit(session, d.resolve(answered, invitee, now), now)


def reject(session: Session, participant_id: str, now: datetime) -> Session:
    invitee = _ringing(session, participant_id, Capability.REJECT_INVITE, now)
    after = _close(session, invitee, ParticipantState.DECLINED, StateReason.DECLINED, now)
    return _commit(session, after, now)


def expire_invite(session: Session, participant_id: str, now: datetime) -> Session:
    """Ring timeout. A no-op unless the participant is still invited and due."""
    participant = session.participant(participant_id)
    if (
        session.state is SessionState.ENDED
        or participant is None
        or participant.state is not ParticipantState.INVITED
        or participant.expires_at is None
        or participant.expires_at > now
    ):
        return session
    after = _close(session, participant, ParticipantState.WITHDRAWN, StateReason.TIMEOUT, now)
    return _commit(session, after, now)


def leave(session: Session, participant_id: str, now: datetime) -> Session:
    participant = _actor(session, participant_id, Capability.LEAVE_SESSION)
    after = _close(session, participant, ParticipantState.LEFT, StateReason.HUNG_UP, now)
    return _commit(session, after, now)


def cancel(session: Session, participant_id: str, now: datetime) -> Session:
    _actor(session, participant_id, Capability.CANCEL_SESSION)
    return _commit(session, _finish(session, EndReason.CANCELLED, now), now)


def end(session: Session, participant_id: str, now: datetime) -> Session:
    _actor(session, participant_id, Capability.END_SESSION)
    return _commit(session, _finish(session, EndReason.ENDED_BY_HOST, now), now)


def hold(session: Session, participant_id: str, now: datetime) -> Session:
    _actor(session, participant_id, Capability.HOLD_SESSION)
    return _commit(session, replace(session, on_hold=True), now)


def unhold(session: Session, participant_id: str, now: datetime) -> Session:
    _actor(session, participant_id, Capability.UNHOLD_SESSION)
    return _commit(session, replace(session, on_hold=False), now)


def rename(session: Session, participant_id: str, name: str, now: datetime) -> Session:
    _actor(session, participant_id, Capability.RENAME_SESSION)
    return _commit(session, replace(session, name=_valid_name(name)), now)


def add_participant(
    session: Session, participant_id: str, new_participant_id: str, invitee: Invitee, now: datetime
) -> Session:
    _actor(session, participant_id, Capability.ADD_PARTICIPANT)
    if invitee.user_id is not None and any(
        p.is_live for p in session.participants_of_user(invitee.user_id)
    ):
        raise Conflict(ErrorCode.ALREADY_PARTICIPANT, "That user is already in the session.")
    if invitee.phone is not None and any(
        p.is_live and p.phone == invitee.phone for p in session.participants
    ):
        raise Conflict(ErrorCode.ALREADY_PARTICIPANT, "That number is already in the session.")
    after = _invite(session, new_participant_id, invitee, invited_by=participant_id, now=now)
    return _commit(session, after, now)


def remove_participant(
    session: Session, participant_id: str, target_participant_id: str, now: datetime
) -> Session:
    _actor(session, participant_id, Capability.REMOVE_PARTICIPANT)
    target = session.participant(target_participant_id)
    if target is None:
        raise NotFound(ErrorCode.PARTICIPANT_NOT_FOUND, "No such participant in this session.")
    if target.id == participant_id:
        raise Conflict(ErrorCode.INVALID_STATE, "Leave the session instead of removing yourself.")
    if not target.is_live:
        raise Conflict(ErrorCode.INVALID_STATE, f"The participant has already {target.state}.")
    state = (
        ParticipantState.REMOVED
        if target.state is ParticipantState.ACCEPTED
        else ParticipantState.WITHDRAWN
    )
    return _commit(session, _close(session, target, state, StateReason.REMOVED, now), now)


def send_dtmf(
    session: Session, participant_id: str, target_participant_id: str, digits: str
) -> MediaCommand:
    """Key `digits` into an answered phone leg (hosts and agents, while the call is
    active). Nothing in the session changes: the digits are media work only."""
    _actor(session, participant_id, Capability.SEND_DTMF)
    target = session.participant(target_participant_id)
    if target is None:
        raise NotFound(ErrorCode.PARTICIPANT_NOT_FOUND, "No such participant in this session.")
    if target.kind is not ParticipantKind.PHONE:
        raise Conflict(
            ErrorCode.INVALID_STATE, "DTMF goes to a phone participant only.", Capability.SEND_DTMF
        )
    if target.state is not ParticipantState.ACCEPTED:
        raise Conflict(
            ErrorCode.INVALID_STATE,
            f"The phone participant is {target.state}, not answered.",
            Capability.SEND_DTMF,
        )
    return MediaCommand("send_dtmf", participant_id=target.id, digits=digits)


def start_recording(
    session: Session, participant_id: str, recording_id: str, now: datetime
) -> Session:
    _actor(session, participant_id, Capability.START_RECORDING)
    recording = Recording(
        id=recording_id, state=RecordingState.STARTING, started_by=participant_id, started_at=now
    )
    return _commit(session, replace(session, recordings=(*session.recordings, recording)), now)


def stop_recording(
    session: Session, participant_id: str, recording_id: str, now: datetime
) -> Session:
    _actor(session, participant_id, Capability.STOP_RECORDING)
    recording = next((r for r in session.recordings if r.id == recording_id), None)
    if recording is None:
        raise NotFound(ErrorCode.RECORDING_NOT_FOUND, "No such recording in this session.")
    if not recording.is_live:
        raise Conflict(ErrorCode.INVALID_STATE, f"The recording is already {recording.state}.")
    stopped = replace(recording, state=RecordingState.STOPPED, stopped_at=now)
    return _commit(session, _with_recording(session, stopped), now)


def add_team(
    session: Session,
    participant_id: str,
    dispatch_id: str,
    team: str,
    policy: DispatchPolicy,
    now: datetime,
) -> Session:
    """A host rings a team into the session (its agents follow in `advance_dispatch`)."""
    _actor(session, participant_id, Capability.ADD_PARTICIPANT)
    if any(x.team == team for x in session.open_dispatches):
        raise Conflict(ErrorCode.ALREADY_PARTICIPANT, f"Team {team!r} is already being rung.")
    return d.open_dispatch(session, dispatch_id, team, policy, participant_id, now)


def advance_dispatch(
    before: Session | None,
    changed: Session,
    dispatch_id: str,
    available: Sequence[int],
    ids: Iterator[str],
    now: datetime,
) -> Session:
    """The dispatch's next step (`dispatch.advance`) on top of `changed`, the change the
    same transaction made to `before`: both count as one version."""
    stepped = d.advance(changed, dispatch_id, available, ids, now)
    if before is None:  # a new session: still version 1
        return _settle(stepped, now)
    return _commit(before, replace(stepped, version=before.version), now)


def expire_dispatch(session: Session, dispatch_id: str, now: datetime) -> Session:
    """Dispatch timeout or queue timeout. A no-op unless the dispatch is open and due."""
    return _commit(session, d.expire(session, dispatch_id, now), now)


def dequeue_dispatch(session: Session, dispatch_id: str, now: datetime) -> Session:
    """A queued dispatch leaves the queue; `advance_dispatch` rings the agents."""
    return _commit(session, d.dequeue(session, dispatch_id, now), now)


def place_in_queue(
    session: Session, dispatch_id: str, position: int, estimated_wait_s: float | None, now: datetime
) -> Session:
    """What the caller sees while queued: their place and the estimated wait."""
    placed = d.set_queue_position(session, dispatch_id, position, estimated_wait_s)
    return _commit(session, placed, now)


# -- what the media layer reports -------------------------------------------------------


def reason_for_sip_status(status: int) -> StateReason:
    """SIP final responses onto the closed set of participant reasons."""
    if status == 486 or status == 600:
        return StateReason.BUSY
    if status == 603:
        return StateReason.DECLINED
    if status in (408, 480):
        return StateReason.TIMEOUT
    if status == 487:
        return StateReason.CANCELLED
    return StateReason.FAILED


_LEG_ORDER = {
    SipLegState.DIALING: 0,
    SipLegState.RINGING: 1,
    SipLegState.ANSWERED: 2,
    SipLegState.FAILED: 3,
    SipLegState.ENDED: 3,
}


def sip_leg_update(
    session: Session,
    participant_id: str,
    leg_state: SipLegState,
    now: datetime,
    *,
    reason: StateReason | None = None,
    error: str | None = None,
) -> Session:
    """A phone leg moved: ringing, answered, failed (with a reason) or hung up. It only
    moves forward: the same or an earlier state (two observers of one call, a report that
    comes late) changes nothing."""
    participant = session.participant(participant_id)
    if (
        session.state is SessionState.ENDED
        or participant is None
        or participant.sip_leg is None
        or not participant.is_live
        or _LEG_ORDER[leg_state] <= _LEG_ORDER[participant.sip_leg.state]
    ):
        return session
    leg = replace(participant.sip_leg, state=leg_state, error=error)
    updated = replace(participant, sip_leg=leg)
    after = _with_participant(session, updated)
    if leg_state is SipLegState.ANSWERED and participant.state is ParticipantState.INVITED:
        after = _accepted(after, updated, now)
    elif leg_state in (SipLegState.FAILED, SipLegState.ENDED):
        if participant.state is ParticipantState.ACCEPTED:
            closed_reason = reason or StateReason.HUNG_UP
            after = _close(after, updated, ParticipantState.LEFT, closed_reason, now)
        else:
            closed_reason = reason or StateReason.FAILED
            state = (
                ParticipantState.DECLINED
                if closed_reason in (StateReason.BUSY, StateReason.DECLINED)
                else ParticipantState.WITHDRAWN
            )
            after = _close(after, updated, state, closed_reason, now)
    return _commit(session, after, now)


def recording_update(
    session: Session,
    recording_id: str,
    state: RecordingState,
    now: datetime,
    error: str | None = None,
) -> Session:
    """The egress behind a recording started, stopped or failed."""
    recording = next((r for r in session.recordings if r.id == recording_id), None)
    if recording is None or not recording.is_live or recording.state is state:
        return session
    stopped_at = now if state in (RecordingState.STOPPED, RecordingState.FAILED) else None
    updated = replace(recording, state=state, stopped_at=stopped_at, error=error)
    return _commit(session, _with_recording(session, updated), now)


def recording_start_timed_out(
    session: Session, recording_id: str, timeout_s: float, now: datetime
) -> Session:
    """The recorder (or Egress) never got going: a recording still `starting` when its
    start deadline comes fails, and whatever was started for it is stopped."""
    recording = next((r for r in session.recordings if r.id == recording_id), None)
    if recording is None or recording.state is not RecordingState.STARTING:
        return session
    error = f"the recording did not start within {timeout_s:g} s"
    return recording_update(session, recording_id, RecordingState.FAILED, now, error)


def recording_saved(
    session: Session, recording_id: str, file: RecordingFile, now: datetime
) -> Session:
    """The recording's audio file is written (also after the session ended: a recording
    stopped by the end of its session is still saved). A recording still live stops."""
    recording = next((r for r in session.recordings if r.id == recording_id), None)
    if recording is None or recording.file is not None:
        return session
    updated = replace(recording, file=file)
    if recording.is_live:
        updated = replace(updated, state=RecordingState.STOPPED, stopped_at=now)
    return _commit(session, _with_recording(session, updated), now)


def set_connected(session: Session, participant_id: str, connected: bool, now: datetime) -> Session:
    """Whether the participant is in the media room (LiveKit participant joined/left)."""
    participant = session.participant(participant_id)
    if participant is None or participant.connected is connected:
        return session
    return _commit(
        session, _with_participant(session, replace(participant, connected=connected)), now
    )


def room_joined(session: Session, participant_id: str, sid: str, at: datetime) -> Session:
    """A connection of the party joined the media room at `at` (a LiveKit participant
    sid). Commutes with `room_left` and with itself: reports may come in any order."""
    participant = session.participant(participant_id)
    if participant is None or sid in participant.room_sids:
        return session
    first = participant.connected_at
    room_sids = participant.room_sids
    if sid not in participant.left_sids:  # its leave came first: it is already gone
        room_sids = room_sids | {sid}
    updated = replace(
        participant,
        room_sids=room_sids,
        connected=bool(room_sids) and session.room_closed_at is None,
        connected_at=at if first is None else min(first, at),
    )
    return _commit(session, _with_participant(session, updated), at)


def room_left(session: Session, participant_id: str, sid: str, now: datetime) -> Session:
    """A connection of the party left the media room (or never made it in)."""
    participant = session.participant(participant_id)
    if participant is None or sid in participant.left_sids:
        return session
    room_sids = participant.room_sids - {sid}
    updated = replace(
        participant,
        room_sids=room_sids,
        left_sids=participant.left_sids | {sid},
        connected=bool(room_sids) and session.room_closed_at is None,
    )
    return _commit(session, _with_participant(session, updated), now)


def room_audio_started(session: Session, at: datetime) -> Session:
    """A party published audio at `at`: the session's first audio is the earliest."""
    first = session.first_audio_at
    if first is not None and first <= at:
        return session
    return _commit(session, replace(session, first_audio_at=at), at)


def room_closed(session: Session, now: datetime, *, end: bool) -> Session:
    """The media room is gone (LiveKit's empty or departure timeout, or deleted): nobody
    is connected any more, and no later report says otherwise. With `end`, a session still
    going ends with it: `completed` once answered, `failed` while ringing (its grants name
    a room that no longer exists)."""
    if session.room_closed_at is not None:
        return session
    participants = tuple(replace(p, connected=False) for p in session.participants)
    after = replace(session, participants=participants, room_closed_at=now)
    if end and after.state is not SessionState.ENDED:
        ringing = after.state is SessionState.RINGING
        after = _finish(after, EndReason.FAILED if ringing else EndReason.COMPLETED, now)
    return _commit(session, after, now)


# -- internals --------------------------------------------------------------------------


def _actor(session: Session, participant_id: str, wanted: Capability) -> Participant:
    participant = session.participant(participant_id)
    denial = check(session, participant, wanted)
    if denial is not None:
        raise denial.error()
    assert participant is not None
    return participant


def _ringing(
    session: Session, participant_id: str, wanted: Capability, now: datetime
) -> Participant:
    """The invited actor, if its ring has not timed out: a ring past its deadline is over,
    even before the expiry worker has withdrawn it."""
    invitee = _actor(session, participant_id, wanted)
    if invitee.expires_at is not None and now >= invitee.expires_at:
        raise Conflict(
            ErrorCode.INVITE_NOT_PENDING, "The invite has expired (ring timeout).", wanted
        )
    if d.past_deadline(session, invitee, now):
        raise Conflict(
            ErrorCode.INVITE_NOT_PENDING, "The team call has timed out (dispatch timeout).", wanted
        )
    return invitee


def _valid_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(ErrorCode.INVALID_NAME, f"A name has at most {MAX_NAME_LENGTH} characters.")
    return name


def _accepted(session: Session, participant: Participant, now: datetime) -> Session:
    return _with_participant(
        session,
        replace(
            participant,
            state=ParticipantState.ACCEPTED,
            state_reason=None,
            accepted_at=now,
            expires_at=None,
        ),
    )


def _with_recording(session: Session, updated: Recording) -> Session:
    return replace(
        session,
        recordings=tuple(updated if r.id == updated.id else r for r in session.recordings),
    )


def _finish(session: Session, reason: EndReason, now: datetime) -> Session:
    """End the session: everyone still in it leaves, every ring stops, recordings stop."""
    for participant in session.participants:
        if participant.state is ParticipantState.ACCEPTED:
            session = _close(session, participant, ParticipantState.LEFT, StateReason.HUNG_UP, now)
        elif participant.state is ParticipantState.INVITED:
            session = _close(
                session, participant, ParticipantState.WITHDRAWN, StateReason.CANCELLED, now
            )
    session = d.close_open(session, reason, now)
    recordings = tuple(
        replace(r, state=RecordingState.STOPPED, stopped_at=now) if r.is_live else r
        for r in session.recordings
    )
    return replace(session, recordings=recordings, on_hold=False, ended_at=now, end_reason=reason)


def _settle(session: Session, now: datetime) -> Session:
    """Answer detection, host hand-over, and ending by itself."""
    if session.state is SessionState.ENDED:
        return session
    accepted = session.accepted
    if session.answered_at is None and len(accepted) >= 2:
        session = replace(session, answered_at=now)
    if session.answered_at is not None:
        if len(accepted) < 2:
            return _finish(session, EndReason.COMPLETED, now)
        return _hand_over_host(session, now)
    if not session.invited and not session.open_dispatches and len(accepted) < 2:
        return _finish(session, _unanswered_reason(session), now)
    return session


def _hand_over_host(session: Session, now: datetime) -> Session:
    """A call whose host left is hosted by its earliest-answering agent."""
    accepted = session.accepted
    if any(p.role is Role.HOST for p in accepted):
        return session
    successor = min(
        (p for p in accepted if p.role is Role.AGENT),
        key=lambda p: (p.accepted_at or now, p.id),
        default=None,
    )
    if successor is None:
        return session
    return _with_participant(session, replace(successor, role=Role.HOST))


def _unanswered_reason(session: Session) -> EndReason:
    """Why a call nobody answered ends: its dispatch's reason, `failed` when every party
    rung failed, else `missed`."""
    closed = [p for p in session.participants if p.id != session.route.initiator_participant_id]
    failed = bool(closed) and all(p.state_reason is StateReason.FAILED for p in closed)
    return d.end_reason(session) or (EndReason.FAILED if failed else EndReason.MISSED)


def _commit(before: Session, after: Session, now: datetime) -> Session:
    after = _settle(replace(after, version=before.version), now)
    if after == before:
        return before
    return replace(after, version=before.version + 1)
