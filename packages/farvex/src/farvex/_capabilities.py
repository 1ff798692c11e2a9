"""The capability rules, over the SDK's own session model.

The same rules as the server's `callpad.domain.capabilities` (DESIGN.md, "Participant"),
written against `VoiceSession` so the SDK never imports the server. A property test
(packages/farvex/tests/test_capabilities.py) walks many sessions through the server's
pure domain and checks that both agree for every participant and action.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._models import (
    Capability,
    Participant,
    ParticipantKind,
    ParticipantState,
    Role,
    SessionState,
    VoiceSession,
)

__all__ = ["ACTIONS", "Action", "capabilities_of", "capability_for", "role_allows"]

Action = Literal[
    "accept",
    "reject",
    "leave",
    "cancel",
    "end",
    "hold",
    "unhold",
    "start_recording",
    "stop_recording",
    "add_participant",
    "remove_participant",
    "rename",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

_CAPABILITY_OF_ACTION: dict[str, Capability] = {
    "accept": Capability.ACCEPT_INVITE,
    "reject": Capability.REJECT_INVITE,
    "leave": Capability.LEAVE_SESSION,
    "cancel": Capability.CANCEL_SESSION,
    "end": Capability.END_SESSION,
    "hold": Capability.HOLD_SESSION,
    "unhold": Capability.UNHOLD_SESSION,
    "start_recording": Capability.START_RECORDING,
    "stop_recording": Capability.STOP_RECORDING,
    "add_participant": Capability.ADD_PARTICIPANT,
    "remove_participant": Capability.REMOVE_PARTICIPANT,
    "rename": Capability.RENAME_SESSION,
}

_HOST_CONTROLS = frozenset(
    {
        Capability.END_SESSION,
        Capability.HOLD_SESSION,
        Capability.UNHOLD_SESSION,
        Capability.START_RECORDING,
        Capability.STOP_RECORDING,
        Capability.ADD_PARTICIPANT,
        Capability.REMOVE_PARTICIPANT,
        Capability.RENAME_SESSION,
    }
)


def capability_for(action: Action | Capability | str) -> Capability:
    """`"end"` or `"end_session"` -> Capability.END_SESSION; ValueError for anything else."""
    found = _CAPABILITY_OF_ACTION.get(str(action))
    if found is not None:
        return found
    try:
        return Capability(str(action))
    except ValueError:
        known = ", ".join(ACTIONS)
        raise ValueError(f"unknown action {action!r}; one of: {known}") from None


def role_allows(session: VoiceSession, participant: Participant) -> frozenset[Capability]:
    """The actions this participant's role may ever take in this session."""
    if participant.kind is not ParticipantKind.USER:
        return frozenset()
    allowed = {Capability.LEAVE_SESSION}
    if participant.id == session.route.initiator_participant_id:
        allowed.add(Capability.CANCEL_SESSION)
    else:
        allowed |= {Capability.ACCEPT_INVITE, Capability.REJECT_INVITE}
    if participant.role is Role.HOST:
        allowed |= _HOST_CONTROLS
    return frozenset(allowed)


def capabilities_of(session: VoiceSession, participant: Participant) -> frozenset[Capability]:
    """The actions open to this participant right now."""
    state = session.state
    if state is SessionState.ENDED:
        return frozenset()
    open_now: set[Capability] = set()
    if participant.state is ParticipantState.INVITED:
        open_now |= {Capability.ACCEPT_INVITE, Capability.REJECT_INVITE}
    elif participant.state is ParticipantState.ACCEPTED:
        if state is SessionState.RINGING:
            open_now |= {
                Capability.CANCEL_SESSION,
                Capability.RENAME_SESSION,
                Capability.ADD_PARTICIPANT,
            }
        else:
            open_now |= {
                Capability.LEAVE_SESSION,
                Capability.END_SESSION,
                Capability.RENAME_SESSION,
                Capability.ADD_PARTICIPANT,
                Capability.HOLD_SESSION
                if state is SessionState.ACTIVE
                else Capability.UNHOLD_SESSION,
                Capability.STOP_RECORDING
                if session.live_recording is not None
                else Capability.START_RECORDING,
            }
        if any(p.is_live and p.id != participant.id for p in session.participants):
            open_now.add(Capability.REMOVE_PARTICIPANT)
    return frozenset(open_now) & role_allows(session, participant)
