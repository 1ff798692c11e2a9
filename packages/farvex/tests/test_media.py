"""With the `livekit` extra installed, `start()` and `accept()` join the session's LiveKit
room (a real livekit-server), the rooms are left when the call ends, and
`join_media=False` opts out."""

from __future__ import annotations

from typing import Any

import pytest
from farvex import VendorUserTarget
from farvex.livekit import ConnectionState
from farvex.testing import CallpadServer, eventually, wait_for

from testsupport.servers import LiveKitServer

CUSTOMER, AGENT = 7, 42


@pytest.fixture
def callpad_settings(livekit_server: LiveKitServer) -> dict[str, Any]:
    """Grants for the real livekit-server (the media backend itself stays offline)."""
    return {
        "livekit_url": livekit_server.url,
        "livekit_api_key": livekit_server.api_key,
        "livekit_api_secret": livekit_server.api_secret,
    }


async def test_start_and_accept_join_the_room_and_leave_it_when_the_call_ends(
    callpad_server: CallpadServer,
) -> None:
    server = callpad_server
    server.joins_media = True  # as an app's client does by default
    await server.create_vendor("acme", {AGENT: "agent"})
    customer = await server.session_client(CUSTOMER, connect=True)
    agent = await server.host_client("acme", AGENT, connect=True)

    started = await customer.sessions.start(vendor="acme", target=VendorUserTarget(user_id=AGENT))
    session_id = started.session.id
    customer_room = customer.sessions.room(session_id)
    assert customer_room is not None and customer_room.isconnected()
    assert customer_room.name == started.session.room
    assert started.join is not None
    assert customer_room.local_participant.identity == started.join.participant_id

    invite = await agent.invites.next()
    accepted = await agent.invites.accept(invite)
    agent_room = agent.sessions.room(session_id)
    assert agent_room is not None and agent_room.isconnected()
    join = accepted.join
    assert join is not None
    await eventually(lambda: join.participant_id in customer_room.remote_participants)

    await agent.sessions.end(session_id)
    await wait_for(customer, lambda c: c.sessions.room(session_id) is None)
    await wait_for(agent, lambda c: c.sessions.room(session_id) is None)
    await eventually(
        lambda: (
            customer_room.connection_state == ConnectionState.CONN_DISCONNECTED
            and agent_room.connection_state == ConnectionState.CONN_DISCONNECTED
        )
    )


async def test_join_media_false_opts_out(callpad_server: CallpadServer) -> None:
    server = callpad_server
    await server.create_vendor("acme", {AGENT: "agent"})
    customer = await server.session_client(CUSTOMER, connect=True, join_media=True)
    started = await customer.sessions.start(
        vendor="acme", target=VendorUserTarget(user_id=AGENT), join_media=False
    )
    assert customer.sessions.room(started.session.id) is None
    assert started.join is not None, "the grant is still the app's to use"
