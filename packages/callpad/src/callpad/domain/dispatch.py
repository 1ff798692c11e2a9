"""Team dispatch, as pure steps over a session: whom to ring next, rounds, the queue,
resolution and timeouts.

A dispatch rings available agents one step at a time: one agent (sequential), a batch, or
everyone (parallel). When none of its agents is ringing any more, `advance` takes the next
step: the next agents of this round, a new round, or, with nobody left to ring, the
queue, a failure or giving up. Who is available is the caller's question (it needs the
database); the order they are rung in is decided here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .edits import close_all, invite_all, with_dispatch
from .model import (
    Attempt,
    Dispatch,
    DispatchPolicy,
    DispatchReason,
    DispatchState,
    EndReason,
    Invitee,
    Participant,
    ParticipantKind,
    ParticipantState,
    RingOrder,
    Role,
    Session,
    SessionState,
    StateReason,
    WhenUnavailable,
)

__all__ = [
    "Agent",
    "CallEnding",
    "advance",
    "call_endings",
    "close_open",
    "dequeue",
    "dispatch_changes",
    "end_reason",
    "expire",
    "members_freed",
    "needing_agents",
    "open_dispatch",
    "past_deadline",
    "resolve",
    "ring_order",
    "set_queue_position",
]


@dataclass(frozen=True, slots=True)
class Agent:
    """A team member free to take a call now: present, not busy, not wrapping up."""

    user_id: int
    position: int  # in the team's member order
    idle_since: datetime | None = None  # the end of their last call


def ring_order(
    policy: DispatchPolicy, agents: Sequence[Agent], last_rung_position: int | None
) -> list[int]:
    """The agents' user ids in the order the team's policy rings them."""
    match policy.ring_order:
        case RingOrder.IN_ORDER:
            ordered = sorted(agents, key=lambda a: a.position)
        case RingOrder.ROUND_ROBIN:
            cursor = -1 if last_rung_position is None else last_rung_position
            ordered = sorted(agents, key=lambda a: (a.position <= cursor, a.position))
        case RingOrder.LONGEST_IDLE:
            # Never called yet counts as idle the longest; ties go by member order.
            ordered = sorted(
                agents,
                key=lambda a: (a.idle_since is not None, a.idle_since or datetime.min, a.position),
            )
    return [a.user_id for a in ordered]


def open_dispatch(
    session: Session,
    dispatch_id: str,
    team: str,
    policy: DispatchPolicy,
    requested_by: str,
    now: datetime,
) -> Session:
    """Add a ringing dispatch with no agent rung yet (`advance` rings the first ones)."""
    dispatch = Dispatch(
        id=dispatch_id,
        team=team,
        policy=policy,
        state=DispatchState.RINGING,
        created_at=now,
        requested_by=requested_by,
        deadline=now + timedelta(seconds=policy.dispatch_timeout_s),
    )
    return replace(session, dispatches=(*session.dispatches, dispatch))


def needing_agents(session: Session) -> tuple[Dispatch, ...]:
    """Ringing dispatches none of whose agents is ringing: their next step is due."""
    if session.state is SessionState.ENDED:
        return ()
    return tuple(
        d
        for d in session.dispatches
        if d.state is DispatchState.RINGING and not _ringing(session, d)
    )


def advance(
    session: Session,
    dispatch_id: str,
    available: Sequence[int],
    ids: Iterator[str],
    now: datetime,
) -> Session:
    """The dispatch's next step, given the available agents in ring order (`ring_order`).
    A no-op unless it is ringing and none of its agents is."""
    dispatch = session.dispatch(dispatch_id)
    if dispatch is None or not _due(session, dispatch):
        return session
    policy = dispatch.policy
    in_session = {p.user_id for p in session.participants if p.is_live and p.user_id is not None}
    free = [u for u in available if u not in in_session]
    rung = {_user(session, a) for a in dispatch.attempts if a.round == dispatch.round}
    fresh = [u for u in free if u not in rung]
    round_ = dispatch.round
    if not fresh and rung and round_ < policy.max_rounds:
        round_, fresh = round_ + 1, free
    if fresh:
        step = fresh[: policy.step_size] if policy.step_size else fresh
        return _ring(session, replace(dispatch, round=round_), step, ids, now)
    return _nobody_to_ring(session, dispatch, round_, bool(rung), now)


def _due(session: Session, dispatch: Dispatch) -> bool:
    """Whether the dispatch's next step is due: it rings, and none of its agents does."""
    return (
        dispatch.state is DispatchState.RINGING
        and session.state is not SessionState.ENDED
        and not _ringing(session, dispatch)
    )


def _nobody_to_ring(
    session: Session, dispatch: Dispatch, round_: int, rang: bool, now: datetime
) -> Session:
    """No agent is left to ring: give up after the last round, else fail or queue as the
    policy says."""
    policy = dispatch.policy
    if rang and round_ >= policy.max_rounds:
        return _give_up(session, dispatch, DispatchReason.NO_ANSWER, now)
    if policy.when_unavailable is WhenUnavailable.FAIL:
        return _give_up(session, dispatch, DispatchReason.NO_AGENTS_AVAILABLE, now)
    queued = replace(
        dispatch,
        state=DispatchState.QUEUED,
        round=round_ + 1 if rang else round_,  # leaving the queue starts a fresh round
        queued_at=now,
        deadline=now + timedelta(seconds=policy.max_queue_wait_s),
    )
    return with_dispatch(session, queued)


def dequeue(session: Session, dispatch_id: str, now: datetime) -> Session:
    """A queued dispatch rings again (an agent became available); `advance` rings them."""
    dispatch = session.dispatch(dispatch_id)
    if dispatch is None or dispatch.state is not DispatchState.QUEUED:
        return session
    ringing = replace(
        dispatch,
        state=DispatchState.RINGING,
        deadline=now + timedelta(seconds=dispatch.policy.dispatch_timeout_s),
        queued_at=None,
        queue_position=None,
        estimated_wait_s=None,
    )
    return with_dispatch(session, ringing)


def set_queue_position(
    session: Session, dispatch_id: str, position: int, estimated_wait_s: float | None
) -> Session:
    dispatch = session.dispatch(dispatch_id)
    if dispatch is None or dispatch.state is not DispatchState.QUEUED:
        return session
    placed = replace(dispatch, queue_position=position, estimated_wait_s=estimated_wait_s)
    return with_dispatch(session, placed)


def resolve(session: Session, winner: Participant, now: datetime) -> Session:
    """`winner` answered: the dispatch resolves and every sibling still ringing is
    withdrawn (`answered_elsewhere`), in the same change."""
    dispatch = session.dispatch(winner.dispatch_id) if winner.dispatch_id else None
    if dispatch is None or not dispatch.is_open:
        return session
    siblings = [
        p
        for p in session.participants
        if p.dispatch_id == dispatch.id
        and p.id != winner.id
        and p.state is ParticipantState.INVITED
    ]
    withdrawn, why = ParticipantState.WITHDRAWN, StateReason.ANSWERED_ELSEWHERE
    session = close_all(session, siblings, withdrawn, why, now)
    resolved = _closed(dispatch, DispatchState.RESOLVED, DispatchReason.ANSWERED, now)
    return with_dispatch(session, replace(resolved, winner_participant_id=winner.id))


def expire(session: Session, dispatch_id: str, now: datetime) -> Session:
    """The dispatch timeout (ringing) or the maximum queue wait (queued) passed: its
    rings are withdrawn (`timeout`) and it expires. A no-op unless it is open and due."""
    dispatch = session.dispatch(dispatch_id)
    if (
        dispatch is None
        or not dispatch.is_open
        or session.state is SessionState.ENDED
        or dispatch.deadline is None
        or dispatch.deadline > now
    ):
        return session
    reason = (
        DispatchReason.QUEUE_TIMEOUT
        if dispatch.state is DispatchState.QUEUED
        else DispatchReason.DISPATCH_TIMEOUT
    )
    ringing = [
        p
        for p in session.participants
        if p.dispatch_id == dispatch.id and p.state is ParticipantState.INVITED
    ]
    session = close_all(session, ringing, ParticipantState.WITHDRAWN, StateReason.TIMEOUT, now)
    return with_dispatch(session, _closed(dispatch, DispatchState.EXPIRED, reason, now))


def close_open(session: Session, reason: EndReason, now: datetime) -> Session:
    """The session is ending: its open dispatches are cancelled."""
    why = (
        DispatchReason.CALLER_CANCELLED
        if reason is EndReason.CANCELLED
        else DispatchReason.SESSION_ENDED
    )
    for d in session.open_dispatches:
        session = with_dispatch(session, _closed(d, DispatchState.CANCELLED, why, now))
    return session


def past_deadline(session: Session, participant: Participant, now: datetime) -> bool:
    """Whether the participant's dispatch has run out of time (its timer may not have
    fired yet): an answer then is refused, as one past its own ring timeout is."""
    dispatch = session.dispatch(participant.dispatch_id) if participant.dispatch_id else None
    return (
        dispatch is not None
        and dispatch.is_open
        and dispatch.deadline is not None
        and now >= dispatch.deadline
    )


def end_reason(session: Session) -> EndReason | None:
    """How a session nobody answered ends when its last dispatch found no one available."""
    last = session.dispatches[-1] if session.dispatches else None
    if last is not None and last.reason is DispatchReason.NO_AGENTS_AVAILABLE:
        return EndReason.NO_AGENTS_AVAILABLE
    return None


@dataclass(frozen=True, slots=True)
class CallEnding:
    """A member's call ended: idle from now, and not rung during `wrap_up_s`."""

    user_id: int
    wrap_up_s: float


def call_endings(before: Session | None, after: Session) -> list[CallEnding]:
    """Members whose answered call ended between `before` and `after`."""
    if before is None:
        return []
    endings = []
    for p in after.participants:
        old = before.participant(p.id)
        if (
            p.member
            and p.user_id is not None
            and old is not None
            and old.state is ParticipantState.ACCEPTED
            and p.state is not ParticipantState.ACCEPTED
        ):
            dispatch = after.dispatch(p.dispatch_id) if p.dispatch_id else None
            wrap_up = dispatch.policy.wrap_up_s if dispatch else 0.0
            endings.append(CallEnding(p.user_id, wrap_up))
    return endings


def members_freed(before: Session | None, after: Session) -> bool:
    """Whether a member stopped ringing or talking here (a queued call may now reach them)."""
    if before is None:
        return False
    live_before = {p.id for p in before.participants if p.member and p.is_live}
    return any(p.id in live_before and not p.is_live for p in after.participants)


def dispatch_changes(before: Session | None, after: Session) -> list[Dispatch]:
    """Dispatches that are new or whose timer or queue place moved (for their index row)."""
    old = {d.id: d for d in (before.dispatches if before else ())}
    changed = []
    for d in after.dispatches:
        was = old.get(d.id)
        if was is None or (was.state, was.deadline, was.queued_at, was.queue_position) != (
            d.state,
            d.deadline,
            d.queued_at,
            d.queue_position,
        ):
            changed.append(d)
    return changed


def _ringing(session: Session, dispatch: Dispatch) -> bool:
    return any(
        p.dispatch_id == dispatch.id and p.state is ParticipantState.INVITED
        for p in session.participants
    )


def _user(session: Session, attempt: Attempt) -> int | None:
    participant = session.participant(attempt.participant_id)
    return participant.user_id if participant else None


def _ring(
    session: Session, dispatch: Dispatch, user_ids: Sequence[int], ids: Iterator[str], now: datetime
) -> Session:
    rung = [
        (next(ids), Invitee(ParticipantKind.USER, Role.AGENT, user_id=user_id, member=True))
        for user_id in user_ids
    ]
    session = invite_all(
        session,
        rung,
        invited_by=dispatch.requested_by,
        now=now,
        ring_timeout_s=dispatch.policy.ring_timeout_s,
        dispatch_id=dispatch.id,
    )
    attempts = (*dispatch.attempts, *(Attempt(pid, dispatch.round) for pid, _ in rung))
    return with_dispatch(session, replace(dispatch, attempts=attempts))


def _give_up(
    session: Session, dispatch: Dispatch, reason: DispatchReason, now: datetime
) -> Session:
    return with_dispatch(session, _closed(dispatch, DispatchState.EXPIRED, reason, now))


def _closed(
    dispatch: Dispatch, state: DispatchState, reason: DispatchReason, now: datetime
) -> Dispatch:
    return replace(
        dispatch,
        state=state,
        reason=reason,
        ended_at=now,
        deadline=None,
        queued_at=None,
        queue_position=None,
        estimated_wait_s=None,
    )
