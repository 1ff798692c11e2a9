"""Team dispatch as pure steps: order, rounds, batches, the queue, resolution, timeouts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from callpad.domain import (
    Agent,
    CallEnding,
    Conflict,
    Direction,
    Dispatch,
    DispatchPolicy,
    DispatchReason,
    DispatchState,
    DispatchStrategy,
    DomainError,
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
    call_endings,
    dispatch_changes,
    invite_changes,
    members_freed,
    ring_order,
)
from callpad.domain import transitions as t

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEAM = [42, 43, 44, 45]
SEQUENTIAL = DispatchPolicy(strategy=DispatchStrategy.SEQUENTIAL, ring_timeout_s=10)
PARALLEL = DispatchPolicy(ring_timeout_s=10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def party(session: Session, participant_id: str) -> Participant:
    found = session.participant(participant_id)
    assert found is not None, participant_id
    return found


def dispatch_in(session: Session, dispatch_id: str = "dsp_1") -> Dispatch:
    found = session.dispatch(dispatch_id)
    assert found is not None, dispatch_id
    return found


def ids() -> Iterator[str]:
    return (f"par_a{n}" for n in itertools.count())


class Call:
    """A customer's team call, stepped as the service does: each change, then the
    dispatch's next step with the agents available at that moment."""

    def __init__(self, policy: DispatchPolicy, available: list[int] | None = None) -> None:
        self.available = list(TEAM if available is None else available)
        self.ids = ids()
        session = t.start_session(
            session_id="ses_1",
            vendor="acme",
            name="",
            room="room",
            direction=Direction.INBOUND,
            target={"type": "team", "team": "support"},
            initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=7),
            initiator_participant_id="par_0",
            invitees=[],
            ring_timeout_s=30,
            now=T0,
            team=("dsp_1", "support", policy),
        )
        self.session = t.advance_dispatch(None, session, "dsp_1", self.available, self.ids, T0)

    def step(self, change: Session, now: datetime) -> Session:
        before, self.session = self.session, change
        if change is not before:
            self.session = t.advance_dispatch(
                before, change, "dsp_1", self.available, self.ids, now
            )
        return self.session

    @property
    def dispatch(self) -> Dispatch:
        found = self.session.dispatch("dsp_1")
        assert found is not None
        return found

    def ringing(self) -> list[int]:
        return [p.user_id for p in self.session.invited if p.user_id is not None]

    def pid(self, user_id: int) -> str:
        return next(p.id for p in self.session.invited if p.user_id == user_id)

    def accept(self, user_id: int, seconds: float = 1) -> Session:
        return self.step(t.accept(self.session, self.pid(user_id), at(seconds)), at(seconds))

    def reject(self, user_id: int, seconds: float = 1) -> Session:
        return self.step(t.reject(self.session, self.pid(user_id), at(seconds)), at(seconds))

    def expire_invite(self, user_id: int, seconds: float) -> Session:
        pid = self.pid(user_id)
        return self.step(t.expire_invite(self.session, pid, at(seconds)), at(seconds))


def test_ring_orders() -> None:
    agents = [
        Agent(44, 2, at(5)),
        Agent(42, 0, at(9)),
        Agent(43, 1, None),
        Agent(45, 3, at(1)),
    ]
    in_order = DispatchPolicy(ring_order=RingOrder.IN_ORDER)
    assert ring_order(in_order, agents, None) == [42, 43, 44, 45]
    robin = DispatchPolicy(ring_order=RingOrder.ROUND_ROBIN)
    assert ring_order(robin, agents, None) == [42, 43, 44, 45]
    assert ring_order(robin, agents, 1) == [44, 45, 42, 43]
    assert ring_order(robin, agents, 3) == [42, 43, 44, 45]
    idle = DispatchPolicy(ring_order=RingOrder.LONGEST_IDLE)
    assert ring_order(idle, agents, None) == [43, 45, 44, 42]


def test_parallel_rings_everyone_and_the_first_answer_withdraws_the_rest() -> None:
    call = Call(PARALLEL)
    assert call.ringing() == TEAM
    assert call.session.version == 1
    assert all(p.dispatch_id == "dsp_1" for p in call.session.invited)
    assert all(p.expires_at == at(10) for p in call.session.invited)
    before = call.session
    after = call.accept(43)
    assert (after.state, after.version) == (SessionState.ACTIVE, 2)
    d = call.dispatch
    assert (d.state, d.reason) == (DispatchState.RESOLVED, DispatchReason.ANSWERED)
    assert d.winner_participant_id == after.accepted[-1].id
    for p in after.participants[1:]:
        if p.user_id == 43:
            assert p.state is ParticipantState.ACCEPTED
        else:
            assert (p.state, p.state_reason) == (
                ParticipantState.WITHDRAWN,
                StateReason.ANSWERED_ELSEWHERE,
            )
    # Every sibling's invite closes in the same change; none is rung again.
    closed = {c.user_id: c.state for c in invite_changes(before, after)}
    assert closed == {42: "withdrawn", 43: "accepted", 44: "withdrawn", 45: "withdrawn"}
    with pytest.raises(DomainError) as lost:
        t.accept(after, next(p.id for p in after.participants if p.user_id == 42), at(1))
    assert isinstance(lost.value, Conflict)
    assert lost.value.code == "invite_not_pending"


def test_parallel_reject_leaves_the_others_ringing_and_all_rejected_is_missed() -> None:
    call = Call(PARALLEL)
    call.reject(42)
    assert call.ringing() == [43, 44, 45]
    for user in (43, 44):
        call.reject(user)
    call.expire_invite(45, 10)
    assert (call.dispatch.state, call.dispatch.reason) == (
        DispatchState.EXPIRED,
        DispatchReason.NO_ANSWER,
    )
    assert (call.session.state, call.session.end_reason) == (SessionState.ENDED, EndReason.MISSED)


def test_parallel_batches_ring_the_next_batch_when_one_is_done() -> None:
    call = Call(DispatchPolicy(batch_size=3, ring_timeout_s=10))
    assert call.ringing() == [42, 43, 44]
    for user in (42, 43):
        call.reject(user)
    assert call.ringing() == [44]
    call.expire_invite(44, 10)
    assert call.ringing() == [45]
    assert [a.round for a in call.dispatch.attempts] == [1, 1, 1, 1]


def test_sequential_moves_on_at_a_reject_and_at_a_ring_timeout() -> None:
    call = Call(SEQUENTIAL)
    assert call.ringing() == [42]
    call.reject(42, 2)
    assert call.ringing() == [43]
    version = call.session.version
    call.expire_invite(43, 12)
    assert call.ringing() == [44]
    assert call.session.version == version + 1  # the timeout and the next ring: one change
    call.accept(44, 13)
    d = call.dispatch
    assert d.state is DispatchState.RESOLVED
    assert [party(call.session, a.participant_id).user_id for a in d.attempts] == [42, 43, 44]
    outcomes = [party(call.session, a.participant_id).state_reason for a in d.attempts]
    assert outcomes == [StateReason.DECLINED, StateReason.TIMEOUT, None]


def test_rounds_ring_the_team_again_before_giving_up() -> None:
    call = Call(DispatchPolicy(strategy=DispatchStrategy.SEQUENTIAL, max_rounds=2), [42, 43])
    for user in (42, 43, 42):
        call.reject(user)
    assert call.ringing() == [43]
    assert call.dispatch.round == 2
    call.reject(43)
    assert call.dispatch.reason is DispatchReason.NO_ANSWER
    assert call.session.end_reason is EndReason.MISSED


def test_nobody_available_fails_at_once_when_the_team_says_fail() -> None:
    call = Call(DispatchPolicy(when_unavailable=WhenUnavailable.FAIL), available=[])
    assert (call.dispatch.state, call.dispatch.reason) == (
        DispatchState.EXPIRED,
        DispatchReason.NO_AGENTS_AVAILABLE,
    )
    assert (call.session.state, call.session.end_reason, call.session.version) == (
        SessionState.ENDED,
        EndReason.NO_AGENTS_AVAILABLE,
        1,
    )


def test_nobody_available_queues_then_rings_when_an_agent_is_free() -> None:
    policy = DispatchPolicy(max_queue_wait_s=60, dispatch_timeout_s=30)
    call = Call(policy, available=[])
    d = call.dispatch
    assert (d.state, d.queued_at, d.deadline) == (DispatchState.QUEUED, T0, at(60))
    assert call.session.state is SessionState.RINGING  # the caller waits
    placed = t.place_in_queue(call.session, "dsp_1", 3, 45.0, at(1))
    assert (dispatch_in(placed).queue_position, placed.version) == (3, 2)
    assert t.place_in_queue(placed, "dsp_1", 3, 45.0, at(2)) is placed
    call.session = placed
    call.available = [44]
    call.step(t.dequeue_dispatch(call.session, "dsp_1", at(20)), at(20))
    d = call.dispatch
    assert (d.state, d.deadline, d.queue_position) == (DispatchState.RINGING, at(50), None)
    assert call.ringing() == [44]
    call.accept(44, 21)
    assert call.session.state is SessionState.ACTIVE


def test_queue_wait_and_dispatch_timeouts_expire_once_and_only_when_due() -> None:
    queued = Call(DispatchPolicy(max_queue_wait_s=60), available=[])
    assert t.expire_dispatch(queued.session, "dsp_1", at(59)) is queued.session
    gone = t.expire_dispatch(queued.session, "dsp_1", at(60))
    assert (dispatch_in(gone).reason, gone.end_reason) == (
        DispatchReason.QUEUE_TIMEOUT,
        EndReason.MISSED,
    )
    assert t.expire_dispatch(gone, "dsp_1", at(61)) is gone

    ringing = Call(DispatchPolicy(dispatch_timeout_s=5, ring_timeout_s=10))
    expired = t.expire_dispatch(ringing.session, "dsp_1", at(5))
    assert dispatch_in(expired).reason is DispatchReason.DISPATCH_TIMEOUT
    assert {(p.state, p.state_reason) for p in expired.participants[1:]} == {
        (ParticipantState.WITHDRAWN, StateReason.TIMEOUT)
    }
    # Past the dispatch deadline, an answer is refused even before the timer fires.
    with pytest.raises(DomainError) as late:
        t.accept(ringing.session, ringing.pid(42), at(5))
    assert late.value.code == "invite_not_pending"


def test_the_caller_hanging_up_cancels_the_dispatch_and_withdraws_everyone() -> None:
    call = Call(PARALLEL)
    after = t.cancel(call.session, "par_0", at(1))
    d = after.dispatch("dsp_1")
    assert d is not None
    assert (d.state, d.reason) == (DispatchState.CANCELLED, DispatchReason.CALLER_CANCELLED)
    assert {(p.state, p.state_reason) for p in after.participants[1:]} == {
        (ParticipantState.WITHDRAWN, StateReason.CANCELLED)
    }
    queued = Call(PARALLEL, available=[])
    cancelled = t.cancel(queued.session, "par_0", at(1)).dispatch("dsp_1")
    assert cancelled is not None and cancelled.state is DispatchState.CANCELLED


def test_busy_in_this_session_is_never_rung_twice() -> None:
    call = Call(SEQUENTIAL)
    call.accept(42)
    # An escalation of the live call to the same team does not ring the agent already in it.
    host = call.session.accepted[-1].id
    escalated = t.add_team(call.session, host, "dsp_2", "support", SEQUENTIAL, at(2))
    stepped = t.advance_dispatch(call.session, escalated, "dsp_2", TEAM, call.ids, at(2))
    rung = [p.user_id for p in stepped.invited]
    assert rung == [43]
    with pytest.raises(DomainError) as twice:
        t.add_team(stepped, host, "dsp_3", "support", SEQUENTIAL, at(3))
    assert twice.value.code == "already_participant"


def test_what_the_service_records_from_a_change() -> None:
    call = Call(DispatchPolicy(wrap_up_s=30))
    before = call.session
    call.accept(43)
    assert members_freed(before, call.session)  # the siblings stopped ringing
    assert [d.state for d in dispatch_changes(before, call.session)] == [DispatchState.RESOLVED]
    answered = call.session
    ended = t.leave(answered, answered.accepted[-1].id, at(60))
    assert call_endings(answered, ended) == [CallEnding(43, 30.0)]
