"""`can()` agrees with the server on every participant and action of many sessions.

Sessions come from random walks through the server's pure domain (`callpad.domain`), are
turned into the API's JSON view as the server answers it, and parsed by the SDK. The rules
exist once, on the server: the SDK reads the capabilities each view carries, and these
tests prove every action name maps onto them and every participant's set arrives whole.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from callpad.domain import (
    Capability,
    Direction,
    DomainError,
    Invitee,
    ParticipantKind,
    Role,
    Session,
    capabilities,
)
from callpad.domain import transitions as t
from callpad.sessions.schemas import SessionView
from farvex import Auth, VoiceSession, create_session_client
from farvex import Capability as SdkCapability
from farvex._capabilities import ACTIONS, capability_for
from hypothesis import given, settings
from hypothesis import strategies as st

from testsupport.walk import WALK_ACTIONS, walk_step

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AUTH = Auth(get_access_token=lambda: "unused")
# `can(..., participant_id=)` asks about any participant; no request is ever made.
OBSERVER = create_session_client(api_url="http://127.0.0.1:9", user_id=7, auth=AUTH)


def start(initiator_role: Role, invitees: list[tuple[Role, bool]]) -> Session:
    rung = [
        (
            f"par_{i + 1}",
            Invitee(ParticipantKind.PHONE, Role.GUEST, phone=f"+120255501{i:02d}")
            if phone
            else Invitee(ParticipantKind.USER, role, user_id=100 + i),
        )
        for i, (role, phone) in enumerate(invitees)
    ]
    return t.start_session(
        session_id="ses_1",
        vendor="acme",
        name="call",
        room="room",
        direction=Direction.INBOUND if initiator_role is Role.CUSTOMER else Direction.OUTBOUND,
        target={"type": "vendor_user", "user_id": 100},
        initiator=Invitee(ParticipantKind.USER, initiator_role, user_id=7),
        initiator_participant_id="par_0",
        invitees=rung,
        ring_timeout_s=30,
        now=T0,
    )


def assert_sdk_agrees(session: Session) -> None:
    blank = VoiceSession.model_validate(SessionView.of(session).model_dump(mode="json"))
    client = OBSERVER
    for participant in session.participants:
        server = capabilities(session, participant)
        held = client.sessions.capabilities_of(blank, participant.id)
        assert {str(c) for c in held} == {str(c) for c in server}
        for action in ACTIONS:
            wanted = Capability(capability_for(action).value)
            sdk = client.sessions.can(blank, action, participant_id=participant.id)
            assert sdk == (wanted in server), (action, participant, session.state)
        for capability in Capability:
            sdk = client.sessions.can(
                blank, SdkCapability(capability.value), participant_id=participant.id
            )
            assert sdk == (capability in server)


@settings(max_examples=300, deadline=None)
@given(
    initiator=st.sampled_from([Role.CUSTOMER, Role.HOST, Role.AGENT]),
    invitees=st.lists(
        st.tuples(
            st.sampled_from([Role.HOST, Role.AGENT, Role.CUSTOMER, Role.GUEST]), st.booleans()
        ),
        min_size=1,
        max_size=3,
    ),
    steps=st.lists(
        st.tuples(st.sampled_from(WALK_ACTIONS), st.integers(0, 6), st.integers(0, 6)),
        max_size=20,
    ),
)
def test_sdk_and_server_agree_on_every_capability(
    initiator: Role, invitees: list[tuple[Role, bool]], steps: list[tuple[str, int, int]]
) -> None:
    session = start(initiator, invitees)
    assert_sdk_agrees(session)
    for n, (action, who, other) in enumerate(steps):
        try:
            session = walk_step(session, action, who, other, n, T0 + timedelta(seconds=n + 1))
        except DomainError:
            continue
        assert_sdk_agrees(session)


def test_can_defaults_to_the_clients_own_participant() -> None:
    session = t.accept(start(Role.CUSTOMER, [(Role.HOST, False)]), "par_1", T0)
    view = VoiceSession.model_validate(SessionView.of(session).model_dump(mode="json"))
    customer = create_session_client(api_url="http://127.0.0.1:9", user_id=7, auth=AUTH)
    host = create_session_client(api_url="http://127.0.0.1:9", user_id=100, auth=AUTH)
    stranger = create_session_client(api_url="http://127.0.0.1:9", user_id=5, auth=AUTH)
    assert customer.sessions.can(view, "leave")
    assert not customer.sessions.can(view, "end")
    assert host.sessions.can(view, "end")
    assert host.sessions.can(view, "hold")
    assert not host.sessions.can(view, "unhold")
    assert not stranger.sessions.can(view, "leave")
    with pytest.raises(ValueError, match="unknown action"):
        customer.sessions.can(view, "fly")  # type: ignore[arg-type]
