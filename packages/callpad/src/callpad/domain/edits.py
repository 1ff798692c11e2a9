"""Edits of the aggregate shared by the transitions and the dispatch steps: ring a
participant, close one, swap one part for its new version. No checks, no version bump."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from .model import (
    Dispatch,
    Invitee,
    Participant,
    ParticipantKind,
    ParticipantState,
    Session,
    SipLeg,
    SipLegState,
    StateReason,
)

__all__ = ["close", "invite", "invite_all", "with_dispatch", "with_participant"]


def invite(
    session: Session,
    participant_id: str,
    invitee: Invitee,
    *,
    invited_by: str,
    now: datetime,
    ring_timeout_s: float | None = None,
    dispatch_id: str | None = None,
) -> Session:
    return invite_all(
        session,
        [(participant_id, invitee)],
        invited_by=invited_by,
        now=now,
        ring_timeout_s=ring_timeout_s,
        dispatch_id=dispatch_id,
    )


def invite_all(
    session: Session,
    invitees: Iterable[tuple[str, Invitee]],
    *,
    invited_by: str,
    now: datetime,
    ring_timeout_s: float | None = None,
    dispatch_id: str | None = None,
) -> Session:
    """`invite` for many at once (participant id, invitee), in one copy of the session:
    a team call rings hundreds."""
    timeout = session.ring_timeout_s if ring_timeout_s is None else ring_timeout_s
    expires_at = now + timedelta(seconds=timeout)
    added = tuple(
        Participant(
            id=participant_id,
            kind=invitee.kind,
            role=invitee.role,
            state=ParticipantState.INVITED,
            user_id=invitee.user_id,
            phone=invitee.phone,
            contact_id=invitee.contact_id,
            member=invitee.member,
            invited_at=now,
            invited_by=invited_by,
            expires_at=expires_at,
            dispatch_id=dispatch_id,
            sip_leg=(
                SipLeg(state=SipLegState.DIALING, phone=invitee.phone)
                if invitee.kind is ParticipantKind.PHONE and invitee.phone is not None
                else None
            ),
        )
        for participant_id, invitee in invitees
    )
    return replace(session, participants=(*session.participants, *added))


def close(
    session: Session,
    participant: Participant,
    state: ParticipantState,
    reason: StateReason,
    now: datetime,
) -> Session:
    return with_participant(session, _closed(participant, state, reason, now))


def close_all(
    session: Session,
    participants: Iterable[Participant],
    state: ParticipantState,
    reason: StateReason,
    now: datetime,
) -> Session:
    """`close` for many at once, in one pass: a resolved team call withdraws hundreds."""
    closed = {p.id: _closed(p, state, reason, now) for p in participants}
    if not closed:
        return session
    return replace(session, participants=tuple(closed.get(p.id, p) for p in session.participants))


def _closed(
    participant: Participant, state: ParticipantState, reason: StateReason, now: datetime
) -> Participant:
    leg = participant.sip_leg
    if leg is not None and leg.state not in (SipLegState.FAILED, SipLegState.ENDED):
        leg = replace(leg, state=SipLegState.ENDED)
    return replace(
        participant, state=state, state_reason=reason, ended_at=now, expires_at=None, sip_leg=leg
    )


def with_participant(session: Session, updated: Participant) -> Session:
    return replace(
        session,
        participants=tuple(updated if p.id == updated.id else p for p in session.participants),
    )


def with_dispatch(session: Session, updated: Dispatch) -> Session:
    return replace(
        session,
        dispatches=tuple(updated if d.id == updated.id else d for d in session.dispatches),
    )
