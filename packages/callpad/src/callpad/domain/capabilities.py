"""Who may do what, and when: the one source of the capability rules.

A participant's capabilities follow from two things. Its *role* decides which actions
it may ever take in this session (`role_allows`). The *state* of the session and of the
participant decides which of those are open right now (`capabilities`). The difference
matters to callers: an action the role never allows is a 403, an action the role allows
but the current state does not (the invite was answered elsewhere, the call ended) is a
409 conflict, which is what the loser of a race sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Conflict, DomainError, ErrorCode, Forbidden
from .model import (
    Capability,
    Participant,
    ParticipantKind,
    ParticipantState,
    Role,
    Session,
    SessionState,
)

__all__ = ["Denial", "capabilities", "check", "role_allows"]

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


# The vendor's side of a call keys digits into phone menus (IVRs, extensions, PINs): hosts
# and agents. Customers and guests do not drive a vendor's phone legs.
_DTMF_ROLES = frozenset({Role.HOST, Role.AGENT})


def role_allows(session: Session, participant: Participant) -> frozenset[Capability]:
    """The actions this participant's role may ever take in this session."""
    if participant.kind is not ParticipantKind.USER:
        return frozenset()  # phone legs are driven by the media layer, not by requests
    allowed = {Capability.LEAVE_SESSION}
    if participant.id == session.route.initiator_participant_id:
        allowed.add(Capability.CANCEL_SESSION)
    else:
        allowed |= {Capability.ACCEPT_INVITE, Capability.REJECT_INVITE}
    if participant.role is Role.HOST:
        allowed |= _HOST_CONTROLS
    if participant.role in _DTMF_ROLES:
        allowed.add(Capability.SEND_DTMF)
    return frozenset(allowed)


def capabilities(session: Session, participant: Participant) -> frozenset[Capability]:
    """The actions open to this participant right now."""
    state = session.state
    if state is SessionState.ENDED:
        return frozenset()
    allowed = role_allows(session, participant)
    open_now: set[Capability] = set()
    if participant.state is ParticipantState.INVITED:
        open_now |= {Capability.ACCEPT_INVITE, Capability.REJECT_INVITE}
    elif participant.state is ParticipantState.ACCEPTED:
        if state is SessionState.RINGING:
            open_now |= {Capability.CANCEL_SESSION, Capability.RENAME_SESSION}
            open_now |= {Capability.ADD_PARTICIPANT}
        else:
            open_now |= {
                Capability.LEAVE_SESSION,
                Capability.END_SESSION,
                Capability.RENAME_SESSION,
                Capability.ADD_PARTICIPANT,
            }
            open_now.add(
                Capability.HOLD_SESSION
                if state is SessionState.ACTIVE
                else Capability.UNHOLD_SESSION
            )
            open_now.add(
                Capability.STOP_RECORDING
                if session.live_recording is not None
                else Capability.START_RECORDING
            )
            # Not on hold: a held phone leg hears nothing, digits included.
            if state is SessionState.ACTIVE and any(
                _answered_phone(p) for p in session.participants
            ):
                open_now.add(Capability.SEND_DTMF)
        if any(p.is_live and p.id != participant.id for p in session.participants):
            open_now.add(Capability.REMOVE_PARTICIPANT)
    return frozenset(open_now & allowed)


def _answered_phone(participant: Participant) -> bool:
    return (
        participant.kind is ParticipantKind.PHONE and participant.state is ParticipantState.ACCEPTED
    )


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an action was refused: `forbidden` (the role never may) or a state conflict."""

    capability: Capability
    forbidden: bool
    code: ErrorCode
    detail: str

    def error(self) -> DomainError:
        kind = Forbidden if self.forbidden else Conflict
        return kind(self.code, self.detail, self.capability)


def check(session: Session, participant: Participant | None, wanted: Capability) -> Denial | None:
    """None when `participant` may take `wanted` now; otherwise why not."""
    if participant is None:
        return Denial(wanted, True, ErrorCode.CAPABILITY_MISSING, "You are not a participant.")
    if wanted not in role_allows(session, participant):
        return Denial(
            wanted,
            True,
            ErrorCode.CAPABILITY_MISSING,
            f"A {participant.role} participant may not {wanted.replace('_', ' ')}.",
        )
    if wanted in capabilities(session, participant):
        return None
    if session.state is SessionState.ENDED:
        return Denial(wanted, False, ErrorCode.SESSION_ENDED, "The session has ended.")
    if wanted in (Capability.ACCEPT_INVITE, Capability.REJECT_INVITE):
        return Denial(
            wanted,
            False,
            ErrorCode.INVITE_NOT_PENDING,
            f"The invite is no longer pending (participant is {participant.state}).",
        )
    return Denial(
        wanted,
        False,
        ErrorCode.INVALID_STATE,
        f"Cannot {wanted.replace('_', ' ')} while the session is {session.state} "
        f"and the participant is {participant.state}.",
    )
