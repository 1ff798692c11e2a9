"""The pure domain: transitions, capabilities and the reasons of every outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from callpad.domain import (
    Capability,
    Conflict,
    Direction,
    DomainError,
    EndReason,
    Forbidden,
    Invitee,
    NotFound,
    ParticipantKind,
    ParticipantState,
    RecordingState,
    Role,
    Session,
    SessionState,
    SipLegState,
    StateReason,
    capabilities,
    check,
    invite_changes,
    media_commands,
)
from callpad.domain import transitions as t

T0 = datetime(2026, 1, 1, tzinfo=UTC)
C = Capability


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def inbound(*invitees: Invitee, ring_timeout_s: float = 30) -> Session:
    """Customer 7 calls; `invitees` are rung as par_1, par_2, ..."""
    return t.start_session(
        session_id="ses_1",
        vendor="acme",
        name="call",
        room="room",
        direction=Direction.INBOUND,
        target={"type": "vendor_user", "user_id": 42},
        initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=7),
        initiator_participant_id="par_0",
        invitees=[(f"par_{i + 1}", inv) for i, inv in enumerate(invitees)],
        ring_timeout_s=ring_timeout_s,
        now=T0,
    )


AGENT_42 = Invitee(ParticipantKind.USER, Role.AGENT, user_id=42)
AGENT_43 = Invitee(ParticipantKind.USER, Role.AGENT, user_id=43)
PHONE = Invitee(ParticipantKind.PHONE, Role.GUEST, phone="+12025550100")


def caps(session: Session, participant_id: str) -> set[Capability]:
    participant = session.participant(participant_id)
    assert participant is not None
    return set(capabilities(session, participant))


def active_call() -> Session:
    return t.accept(inbound(AGENT_42), "par_1", at(1))


def test_a_new_session_rings_with_the_initiator_accepted() -> None:
    s = inbound(AGENT_42)
    assert (s.state, s.version) == (SessionState.RINGING, 1)
    found = s.participant("par_0")
    assert found is not None and found.state is ParticipantState.ACCEPTED
    invited = s.participant("par_1")
    assert invited is not None
    assert invited.state is ParticipantState.INVITED
    assert invited.expires_at == at(30)
    assert caps(s, "par_0") == {C.CANCEL_SESSION}
    assert caps(s, "par_1") == {C.ACCEPT_INVITE, C.REJECT_INVITE}


def test_a_session_needs_someone_to_call() -> None:
    with pytest.raises(DomainError) as raised:
        inbound()
    assert raised.value.code == "no_invitees"


def test_accepting_answers_the_call_and_the_agent_becomes_its_host() -> None:
    s = active_call()
    assert (s.state, s.version, s.answered_at) == (SessionState.ACTIVE, 2, at(1))
    agent = s.participant("par_1")
    assert agent is not None
    assert agent.role is Role.HOST
    assert caps(s, "par_1") == {
        C.LEAVE_SESSION,
        C.END_SESSION,
        C.HOLD_SESSION,
        C.START_RECORDING,
        C.ADD_PARTICIPANT,
        C.REMOVE_PARTICIPANT,
        C.RENAME_SESSION,
    }
    assert caps(s, "par_0") == {C.LEAVE_SESSION}


def test_the_second_accept_of_one_invite_is_a_conflict() -> None:
    s = active_call()
    with pytest.raises(DomainError) as raised:
        t.accept(s, "par_1", at(2))
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "invite_not_pending"


def test_rejecting_the_only_invite_misses_the_call() -> None:
    s = t.reject(inbound(AGENT_42), "par_1", at(1))
    assert (s.state, s.end_reason) == (SessionState.ENDED, EndReason.MISSED)
    agent = s.participant("par_1")
    assert agent is not None
    assert (agent.state, agent.state_reason) == (ParticipantState.DECLINED, StateReason.DECLINED)
    assert all(not caps(s, p.id) for p in s.participants)


def test_one_reject_of_two_keeps_ringing() -> None:
    s = t.reject(inbound(AGENT_42, AGENT_43), "par_1", at(1))
    assert s.state is SessionState.RINGING


def test_expiry_is_a_no_op_before_the_deadline_and_after_an_answer() -> None:
    s = inbound(AGENT_42)
    assert t.expire_invite(s, "par_1", at(29)) is s
    expired = t.expire_invite(s, "par_1", at(30))
    agent = expired.participant("par_1")
    assert agent is not None
    assert (agent.state, agent.state_reason) == (ParticipantState.WITHDRAWN, StateReason.TIMEOUT)
    assert expired.end_reason is EndReason.MISSED
    answered = active_call()
    assert t.expire_invite(answered, "par_1", at(60)) is answered


def test_cancel_withdraws_every_invite() -> None:
    s = t.cancel(inbound(AGENT_42, AGENT_43), "par_0", at(1))
    assert s.end_reason is EndReason.CANCELLED
    for pid in ("par_1", "par_2"):
        p = s.participant(pid)
        assert p is not None
        assert (p.state, p.state_reason) == (ParticipantState.WITHDRAWN, StateReason.CANCELLED)


def test_only_the_initiator_may_cancel_and_only_while_ringing() -> None:
    with pytest.raises(DomainError) as raised:
        t.cancel(inbound(AGENT_42), "par_1", at(1))
    assert isinstance(raised.value, Forbidden)
    assert raised.value.capability == C.CANCEL_SESSION
    with pytest.raises(DomainError) as raised:
        t.cancel(active_call(), "par_0", at(2))
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "invalid_state"


def test_a_customer_may_never_use_host_controls() -> None:
    s = active_call()
    for step in (t.end, t.hold):
        with pytest.raises(DomainError) as raised:
            step(s, "par_0", at(2))
        assert isinstance(raised.value, Forbidden)
        assert raised.value.code == "capability_missing"


def test_leaving_a_two_party_call_completes_it() -> None:
    s = t.leave(active_call(), "par_0", at(5))
    assert (s.state, s.end_reason, s.ended_at) == (SessionState.ENDED, EndReason.COMPLETED, at(5))
    assert {p.state for p in s.participants} == {ParticipantState.LEFT}


def test_the_host_leaving_hands_the_call_to_the_next_agent() -> None:
    s = t.add_participant(active_call(), "par_1", "par_2", AGENT_43, at(2))
    s = t.accept(s, "par_2", at(3))
    s = t.leave(s, "par_1", at(4))
    assert s.state is SessionState.ACTIVE
    successor = s.participant("par_2")
    assert successor is not None
    assert successor.role is Role.HOST


def test_hold_and_unhold_alternate() -> None:
    s = t.hold(active_call(), "par_1", at(2))
    assert s.state is SessionState.ON_HOLD
    assert caps(s, "par_1") >= {C.UNHOLD_SESSION} and C.HOLD_SESSION not in caps(s, "par_1")
    with pytest.raises(DomainError) as raised:
        t.hold(s, "par_1", at(3))
    assert isinstance(raised.value, Conflict)
    assert t.unhold(s, "par_1", at(3)).state is SessionState.ACTIVE


def test_a_recording_starts_goes_active_and_stops() -> None:
    s = t.start_recording(active_call(), "par_1", "rec_1", at(2))
    assert s.recordings[0].state is RecordingState.STARTING
    assert caps(s, "par_1") >= {C.STOP_RECORDING} and C.START_RECORDING not in caps(s, "par_1")
    s = t.recording_update(s, "rec_1", RecordingState.ACTIVE, at(3))
    s = t.stop_recording(s, "par_1", "rec_1", at(4))
    assert (s.recordings[0].state, s.recordings[0].stopped_at) == (RecordingState.STOPPED, at(4))
    with pytest.raises(Conflict):  # stopped already
        t.stop_recording(s, "par_1", "rec_1", at(5))


def test_a_recording_still_starting_at_its_deadline_fails_and_is_stopped() -> None:
    starting = t.start_recording(active_call(), "par_1", "rec_1", at(2))
    s = t.recording_start_timed_out(starting, "rec_1", 60, at(62))
    (recording,) = s.recordings
    assert (recording.state, recording.stopped_at) == (RecordingState.FAILED, at(62))
    assert recording.error == "the recording did not start within 60 s"
    assert [(c.action, c.recording_id) for c in media_commands(starting, s)] == [
        ("stop_recording", "rec_1")
    ]
    assert C.START_RECORDING in caps(s, "par_1")  # it may be tried again


def test_a_recording_that_started_in_time_outlives_its_deadline() -> None:
    s = t.start_recording(active_call(), "par_1", "rec_1", at(2))
    active = t.recording_update(s, "rec_1", RecordingState.ACTIVE, at(3))
    assert t.recording_start_timed_out(active, "rec_1", 60, at(62)) is active
    stopped = t.stop_recording(active, "par_1", "rec_1", at(4))
    assert t.recording_start_timed_out(stopped, "rec_1", 60, at(62)) is stopped


def test_stopping_a_recording_the_session_does_not_have_is_not_found() -> None:
    s = t.start_recording(active_call(), "par_1", "rec_1", at(2))
    with pytest.raises(NotFound) as raised:
        t.stop_recording(s, "par_1", "rec_missing", at(3))
    assert raised.value.code == "recording_not_found"


def test_ending_stops_recordings_and_clears_hold() -> None:
    s = t.start_recording(t.hold(active_call(), "par_1", at(2)), "par_1", "rec_1", at(3))
    s = t.end(s, "par_1", at(4))
    assert s.end_reason is EndReason.ENDED_BY_HOST
    assert (s.on_hold, s.recordings[0].state) == (False, RecordingState.STOPPED)


def test_removing_a_participant() -> None:
    s = t.add_participant(active_call(), "par_1", "par_2", AGENT_43, at(2))
    ringing_removed = t.remove_participant(s, "par_1", "par_2", at(3))
    p = ringing_removed.participant("par_2")
    assert p is not None
    assert (p.state, p.state_reason) == (ParticipantState.WITHDRAWN, StateReason.REMOVED)
    s = t.remove_participant(t.accept(s, "par_2", at(3)), "par_1", "par_0", at(4))
    customer = s.participant("par_0")
    assert customer is not None
    assert (customer.state, customer.state_reason) == (
        ParticipantState.REMOVED,
        StateReason.REMOVED,
    )
    assert s.state is SessionState.ACTIVE
    with pytest.raises(DomainError) as raised:
        t.remove_participant(s, "par_1", "par_1", at(5))
    assert isinstance(raised.value, Conflict)


def test_the_same_user_cannot_be_added_twice() -> None:
    s = t.add_participant(active_call(), "par_1", "par_2", AGENT_43, at(2))
    with pytest.raises(DomainError) as raised:
        t.add_participant(s, "par_1", "par_3", AGENT_43, at(3))
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "already_participant"


@pytest.mark.parametrize(
    ("status", "reason", "state"),
    [
        (486, StateReason.BUSY, ParticipantState.DECLINED),
        (600, StateReason.BUSY, ParticipantState.DECLINED),
        (603, StateReason.DECLINED, ParticipantState.DECLINED),
        (408, StateReason.TIMEOUT, ParticipantState.WITHDRAWN),
        (480, StateReason.TIMEOUT, ParticipantState.WITHDRAWN),
        (487, StateReason.CANCELLED, ParticipantState.WITHDRAWN),
        (500, StateReason.FAILED, ParticipantState.WITHDRAWN),
    ],
)
def test_sip_final_responses_map_onto_participant_reasons(
    status: int, reason: StateReason, state: ParticipantState
) -> None:
    s = t.add_participant(active_call(), "par_1", "par_2", PHONE, at(2))
    s = t.sip_leg_update(
        s, "par_2", SipLegState.FAILED, at(3), reason=t.reason_for_sip_status(status)
    )
    leg = s.participant("par_2")
    assert leg is not None
    assert (leg.state, leg.state_reason) == (state, reason)
    assert leg.sip_leg is not None and leg.sip_leg.state is SipLegState.FAILED
    assert s.state is SessionState.ACTIVE


def test_a_phone_only_call_that_fails_ends_failed() -> None:
    s = t.start_session(
        session_id="ses_2",
        vendor="acme",
        name="",
        room="room",
        direction=Direction.OUTBOUND,
        target={"type": "phone", "phone": "+12025550103"},
        initiator=Invitee(ParticipantKind.USER, Role.HOST, user_id=42),
        initiator_participant_id="par_0",
        invitees=[("par_1", PHONE)],
        ring_timeout_s=30,
        now=T0,
    )
    s = t.sip_leg_update(s, "par_1", SipLegState.FAILED, at(1), reason=StateReason.FAILED)
    assert s.end_reason is EndReason.FAILED


def test_a_phone_leg_answers_then_hangs_up() -> None:
    s = t.add_participant(active_call(), "par_1", "par_2", PHONE, at(2))
    s = t.sip_leg_update(s, "par_2", SipLegState.ANSWERED, at(3))
    leg = s.participant("par_2")
    assert leg is not None and leg.state is ParticipantState.ACCEPTED
    s = t.sip_leg_update(s, "par_2", SipLegState.ENDED, at(4))
    leg = s.participant("par_2")
    assert leg is not None
    assert (leg.state, leg.state_reason) == (ParticipantState.LEFT, StateReason.HUNG_UP)


def test_dtmf_goes_to_an_answered_phone_leg_from_the_vendors_side() -> None:
    dialled = t.add_participant(active_call(), "par_1", "par_2", PHONE, at(2))
    assert C.SEND_DTMF not in caps(dialled, "par_1")  # nothing answered yet
    with pytest.raises(Conflict):
        t.send_dtmf(dialled, "par_1", "par_2", "1")
    s = t.sip_leg_update(dialled, "par_2", SipLegState.ANSWERED, at(3))
    s = t.add_participant(s, "par_1", "par_3", AGENT_43, at(4))
    s = t.accept(s, "par_3", at(5))
    host, agent = s.participant("par_1"), s.participant("par_3")
    assert host is not None and agent is not None
    assert (host.role, agent.role) == (Role.HOST, Role.AGENT)
    for sender in ("par_1", "par_3"):
        assert C.SEND_DTMF in caps(s, sender)
        command = t.send_dtmf(s, sender, "par_2", "12*#A")
        assert (command.action, command.participant_id, command.digits) == (
            "send_dtmf",
            "par_2",
            "12*#A",
        )
    # The customer may not; a user is not a phone; nobody is not there.
    with pytest.raises(Forbidden):
        t.send_dtmf(s, "par_0", "par_2", "1")
    assert C.SEND_DTMF not in caps(s, "par_0")
    with pytest.raises(Conflict):
        t.send_dtmf(s, "par_1", "par_3", "1")
    with pytest.raises(NotFound):
        t.send_dtmf(s, "par_1", "par_9", "1")
    # Not while on hold (the held leg hears nothing), nor once the leg hung up.
    held = t.hold(s, "par_1", at(6))
    assert C.SEND_DTMF not in caps(held, "par_1")
    with pytest.raises(Conflict):
        t.send_dtmf(held, "par_1", "par_2", "1")
    hung_up = t.sip_leg_update(s, "par_2", SipLegState.ENDED, at(7))
    with pytest.raises(Conflict):
        t.send_dtmf(hung_up, "par_1", "par_2", "1")


def test_a_phone_leg_only_moves_forward_whoever_reports_it() -> None:
    """Two observers of one call (the dialling process, any process's check) may report
    the same state twice, or an earlier one late: neither changes the session."""
    s = t.add_participant(active_call(), "par_1", "par_2", PHONE, at(2))
    ringing = t.sip_leg_update(s, "par_2", SipLegState.RINGING, at(3))
    assert t.sip_leg_update(ringing, "par_2", SipLegState.RINGING, at(4)) is ringing
    answered = t.sip_leg_update(ringing, "par_2", SipLegState.ANSWERED, at(5))
    assert t.sip_leg_update(answered, "par_2", SipLegState.RINGING, at(6)) is answered
    assert t.sip_leg_update(answered, "par_2", SipLegState.ANSWERED, at(6)) is answered
    ended = t.sip_leg_update(answered, "par_2", SipLegState.ENDED, at(7))
    leg = ended.participant("par_2")
    assert leg is not None and leg.state is ParticipantState.LEFT
    assert t.sip_leg_update(ended, "par_2", SipLegState.ANSWERED, at(8)) is ended


def test_check_tells_forbidden_from_conflict() -> None:
    s = active_call()
    customer = s.participant("par_0")
    host = s.participant("par_1")
    denial = check(s, customer, C.END_SESSION)
    assert denial is not None and denial.forbidden
    assert check(s, host, C.END_SESSION) is None
    assert check(s, None, C.END_SESSION) is not None
    ended = t.end(s, "par_1", at(2))
    denial = check(ended, ended.participant("par_1"), C.END_SESSION)
    assert denial is not None and not denial.forbidden and denial.code == "session_ended"


def test_invite_changes_and_media_commands_follow_the_diff() -> None:
    s = inbound(AGENT_42)
    assert [c.participant_id for c in invite_changes(None, s)] == ["par_1"]
    answered = t.accept(s, "par_1", at(1))
    closed = invite_changes(s, answered)
    assert [(c.participant_id, c.state) for c in closed] == [("par_1", ParticipantState.ACCEPTED)]
    dialled = t.add_participant(answered, "par_1", "par_2", PHONE, at(2))
    assert [(c.action, c.phone) for c in media_commands(answered, dialled)] == [
        ("dial", "+12025550100")
    ]
    held = t.hold(dialled, "par_1", at(3))
    assert [(c.action, c.held) for c in media_commands(dialled, held)] == [("hold", True)]
    ended = t.end(held, "par_1", at(4))
    assert [c.action for c in media_commands(held, ended)] == ["hang_up", "close_room"]
    # A party that leaves or is removed is taken out of the room, unless the room closes.
    three = t.accept(t.add_participant(answered, "par_1", "par_3", AGENT_43, at(5)), "par_3", at(6))
    left = t.leave(three, "par_3", at(7))
    assert [(c.action, c.participant_id) for c in media_commands(three, left)] == [
        ("remove", "par_3")
    ]
    assert [c.action for c in media_commands(left, t.leave(left, "par_1", at(8)))] == ["close_room"]


def test_a_ring_past_its_deadline_cannot_be_answered() -> None:
    s = inbound(AGENT_42, ring_timeout_s=30)
    for step in (t.accept, t.reject):
        with pytest.raises(DomainError) as raised:
            step(s, "par_1", at(30))
        assert isinstance(raised.value, Conflict)
    assert raised.value.code == "invite_not_pending"
    assert t.accept(s, "par_1", at(29.9)).state is SessionState.ACTIVE


def test_a_session_is_live_for_its_users_until_they_leave_or_it_ends() -> None:
    ringing = inbound(AGENT_42, AGENT_43, PHONE)  # phone legs are not users
    assert ringing.users() == {7: True, 42: True, 43: True}
    answered = t.reject(t.accept(ringing, "par_1", T0), "par_2", T0)
    assert answered.users() == {7: True, 42: True, 43: False}
    assert answered.live_users() == {7, 42}
    ended = t.end(answered, "par_1", T0)
    assert ended.users() == {7: False, 42: False, 43: False}
    assert ended.live_users() == set()


def test_room_reports_give_the_same_session_in_any_order_and_any_number() -> None:
    import itertools

    answered = t.accept(inbound(AGENT_42), "par_1", at(1))
    reports: list[Callable[[Session], Session]] = [
        lambda s: t.room_joined(s, "par_0", "PA_a", at(2)),
        lambda s: t.room_joined(s, "par_1", "PA_b", at(3)),
        lambda s: t.room_audio_started(s, at(4)),
        lambda s: t.room_left(s, "par_1", "PA_b", at(9)),
        lambda s: t.room_joined(s, "par_1", "PA_c", at(5)),  # the agent's second connection
        lambda s: t.room_audio_started(s, at(6)),
    ]
    outcomes = set()
    for order in itertools.permutations(reports):
        s = answered
        for report in (*order, order[0], order[-1]):  # and some delivered twice
            s = report(s)
        outcomes.add(
            (
                tuple((p.connected, p.connected_at) for p in s.participants),
                s.first_audio_at,
                s.state,
            )
        )
    assert outcomes == {(((True, at(2)), (True, at(3))), at(4), SessionState.ACTIVE)}
    # The room closing is final: nobody is connected after it, whatever comes later.
    closed = t.room_closed(answered, at(10), end=True)
    assert closed.end_reason is EndReason.COMPLETED
    rejoined = t.room_joined(closed, "par_0", "PA_late", at(11))
    assert not any(p.connected for p in rejoined.participants)
    ringing = t.room_closed(inbound(AGENT_42), at(10), end=True)
    assert ringing.end_reason is EndReason.FAILED
    assert t.room_closed(answered, at(10), end=False).state is SessionState.ACTIVE
