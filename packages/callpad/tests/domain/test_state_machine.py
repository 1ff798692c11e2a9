"""A random walk over every action: the invariants of the session hold after each step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callpad.domain import (
    Capability,
    DispatchState,
    DomainError,
    Forbidden,
    ParticipantState,
    Role,
    Session,
    SessionState,
    capabilities,
    check,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from testsupport.walk import WALK_ACTIONS, walk_step

from .test_rules import AGENT_42, AGENT_43, PHONE, inbound

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACTION_CAPABILITY = {
    "accept": Capability.ACCEPT_INVITE,
    "reject": Capability.REJECT_INVITE,
    "leave": Capability.LEAVE_SESSION,
    "cancel": Capability.CANCEL_SESSION,
    "end": Capability.END_SESSION,
    "hold": Capability.HOLD_SESSION,
    "unhold": Capability.UNHOLD_SESSION,
    "rename": Capability.RENAME_SESSION,
    "add_user": Capability.ADD_PARTICIPANT,
    "add_phone": Capability.ADD_PARTICIPANT,
    "remove": Capability.REMOVE_PARTICIPANT,
    "start_recording": Capability.START_RECORDING,
    "stop_recording": Capability.STOP_RECORDING,
    "ring_team": Capability.ADD_PARTICIPANT,
    "ring_team_sequential": Capability.ADD_PARTICIPANT,
}
steps = st.lists(
    st.tuples(st.sampled_from(WALK_ACTIONS), st.integers(0, 6), st.integers(0, 6)), max_size=25
)


def assert_invariants(s: Session) -> None:
    assert sum(1 for r in s.recordings if r.is_live) <= 1
    if s.state is SessionState.ENDED:
        assert_ended_invariants(s)
    elif s.answered_at is not None:
        accepted = [p for p in s.participants if p.state is ParticipantState.ACCEPTED]
        assert len(accepted) >= 2
        assert any(p.role is Role.HOST for p in accepted) or not any(
            p.role is Role.AGENT for p in accepted
        )
    else:
        assert_ringing_invariants(s)
    for p in s.participants:
        assert p.is_live == (p.state_reason is None)
        assert (p.state is ParticipantState.INVITED) == (p.expires_at is not None)
    assert_dispatch_invariants(s)


def assert_ended_invariants(s: Session) -> None:
    """An ended session has its reason and time, nobody in it, and nothing to do."""
    assert s.ended_at is not None and s.end_reason is not None
    assert not any(p.is_live for p in s.participants)
    assert not s.on_hold
    assert all(not capabilities(s, p) for p in s.participants)
    assert s.live_recording is None


def assert_ringing_invariants(s: Session) -> None:
    """A session not yet answered rings someone (or waits in a team's queue) for its
    initiator, who is in it."""
    assert s.state is SessionState.RINGING
    invited = [p for p in s.participants if p.state is ParticipantState.INVITED]
    assert invited or any(d.state is DispatchState.QUEUED for d in s.dispatches)
    initiator = s.participant(s.route.initiator_participant_id)
    assert initiator is not None and initiator.state is ParticipantState.ACCEPTED


def assert_dispatch_invariants(s: Session) -> None:
    """One winner at most, siblings withdrawn, nothing open in an ended session, and a
    ringing dispatch always has someone ringing (its next step is taken at once)."""
    for d in s.dispatches:
        rung = [s.participant(a.participant_id) for a in d.attempts]
        assert all(p is not None and p.dispatch_id == d.id for p in rung)
        ringing = [p for p in rung if p is not None and p.state is ParticipantState.INVITED]
        assert (d.state is DispatchState.RINGING) == bool(ringing) or s.state is SessionState.ENDED
        if s.state is SessionState.ENDED:
            assert not d.is_open
        if d.state is DispatchState.RESOLVED:
            winners = [p for p in rung if p is not None and p.accepted_at is not None]
            assert [p.id for p in winners] == [d.winner_participant_id]
            assert not ringing
        else:
            assert d.winner_participant_id is None
        if d.state is not DispatchState.QUEUED:
            assert d.queue_position is None and d.queued_at is None


@settings(max_examples=400, deadline=None)
@given(steps=steps, second_agent=st.booleans(), with_phone=st.booleans())
def test_every_walk_keeps_the_invariants(
    steps: list[tuple[str, int, int]], second_agent: bool, with_phone: bool
) -> None:
    invitees = [AGENT_42] + ([AGENT_43] if second_agent else []) + ([PHONE] if with_phone else [])
    session = inbound(*invitees)
    assert_invariants(session)
    for n, (action, who, other) in enumerate(steps):
        now = T0 + timedelta(seconds=n + 1)
        pids = [p.id for p in session.participants]
        actor = session.participant(pids[who % len(pids)])
        wanted = ACTION_CAPABILITY.get(action)
        allowed_before = wanted is not None and check(session, actor, wanted) is None
        try:
            after = walk_step(session, action, who, other, n, now)
        except DomainError as refused:
            # An allowed action may still be refused for what it names, never forbidden.
            assert not allowed_before or not isinstance(refused, Forbidden)  # noqa: PT017
            continue
        if wanted is not None:
            # An action succeeds only when the capability rules said it could.
            assert allowed_before
        assert after.version in (session.version, session.version + 1)
        assert (after.version == session.version) == (after == session)
        assert_invariants(after)
        session = after
