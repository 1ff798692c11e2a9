"""The README's flows against a real server: after every step each client's store equals
what the server answers over HTTP, also across realtime disconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from farvex import (
    ConflictError,
    ConnectionStatus,
    HostClient,
    ParticipantState,
    PermissionDeniedError,
    RecordingState,
    SessionClient,
)
from farvex.testing import CallpadServer, running_server

from testsupport.api import eventually

from ._support import (
    AGENT,
    ANSWERING_PHONE,
    CUSTOMER,
    OWNER,
    SECOND_AGENT,
    assert_stores_match,
    stored,
)
from .conftest import Realtime


async def call_center(
    server: CallpadServer, **vendor: Any
) -> tuple[SessionClient, HostClient, HostClient]:
    """acme with an owner (reads the vendor feed) and an agent; all three connected."""
    await server.create_vendor("acme", {OWNER: "owner", AGENT: "agent"}, **vendor)
    customer = await server.session_client(CUSTOMER, connect=True)
    agent = await server.host_client("acme", AGENT, connect=True)
    owner = await server.host_client("acme", OWNER, connect=True)
    return customer, agent, owner


def recorder(client: SessionClient, *names: str) -> list[str]:
    seen: list[str] = []
    for name in names:
        client.on(name, lambda event, name=name: seen.append(name))  # type: ignore[call-overload]
    return seen


async def drop_connections_then_dial_and_record(
    server: CallpadServer,
    realtime: Realtime,
    clients: tuple[SessionClient, HostClient, HostClient],
    session_id: str,
) -> None:
    """Mid-call, the network drops every realtime connection; while the clients reconnect
    the host dials a phone that answers, then records: every store ends up as the server's."""
    customer, agent, _ = clients
    # The network drops every realtime connection mid-call; clients reconnect and recover.
    assert realtime.drop(server) == 3
    await agent.sessions.add_participant(
        session_id, target={"type": "phone", "phone": ANSWERING_PHONE}
    )
    phone = await eventually(
        lambda: next(
            (
                p
                for p in stored(customer, session_id).participants
                if p.phone == ANSWERING_PHONE and p.state is ParticipantState.ACCEPTED
            ),
            None,
        )
    )
    assert stored(agent, session_id).telephony_legs[0].participant_id == phone.id
    await eventually(lambda: all(c.status is ConnectionStatus.CONNECTED for c in clients))
    await assert_stores_match(server, *clients)

    await agent.sessions.start_recording(session_id)
    await eventually(
        lambda: (
            (r := stored(agent, session_id).live_recording) is not None
            and r.state is RecordingState.ACTIVE
        )
    )
    assert agent.sessions.can(session_id, "stop_recording")
    await assert_stores_match(server, *clients)
    stopped = await agent.sessions.stop_recording(session_id)
    assert stopped.live_recording is None
    await assert_stores_match(server, *clients)


async def test_a_customer_calls_an_agent_who_hosts_the_call(
    callpad_server: CallpadServer, realtime: Realtime
) -> None:
    server = callpad_server
    customer, agent, owner = await call_center(server)
    clients = (customer, agent, owner)
    events = recorder(
        agent,
        "invite.received",
        "invite.removed",
        "participant.accepted",
        "recording.started",
        "recording.stopped",
        "session.removed",
    )

    started = await customer.sessions.start(
        vendor="acme", target={"type": "vendor_user", "user_id": AGENT}, name="Billing"
    )
    assert started.join is not None and started.join.room == started.session.room
    session_id = started.session.id
    assert customer.sessions.can(session_id, "cancel")
    invite = await agent.invites.next()
    assert (invite.session_id, invite.session_name) == (session_id, "Billing")
    assert agent.invites.can(invite, "accept")
    await assert_stores_match(server, *clients)

    accepted = await agent.sessions.accept(invite.session_id, participant_id=invite.participant.id)
    assert accepted.join is not None and accepted.join.participant_id == invite.participant.id
    assert accepted.session.state == "active"
    assert agent.sessions.active is not None and agent.sessions.active.id == session_id
    assert agent.sessions.can(session_id, "end") and not customer.sessions.can(session_id, "end")
    await assert_stores_match(server, *clients)

    await drop_connections_then_dial_and_record(server, realtime, clients, session_id)

    held = await agent.sessions.hold(session_id)
    assert held.state == "on_hold"
    await eventually(lambda: stored(customer, session_id).state == "on_hold")
    await assert_stores_match(server, *clients)
    await agent.sessions.unhold(session_id)
    await eventually(lambda: stored(owner, session_id).state == "active")
    await assert_stores_match(server, *clients)

    ended = await agent.sessions.end(session_id)
    assert (ended.state, ended.end_reason) == ("ended", "ended_by_host")
    await eventually(lambda: not any(len(c.sessions) for c in clients))
    await assert_stores_match(server, *clients)
    assert (
        await customer.sessions.retrieve(session_id, vendor="acme")
    ).end_reason == "ended_by_host"

    await eventually(lambda: "session.removed" in events)
    assert events[:3] == ["invite.received", "participant.accepted", "invite.removed"]
    assert {"recording.started", "recording.stopped"} <= set(events)


async def test_the_caller_cancels_while_ringing(callpad_server: CallpadServer) -> None:
    customer, agent, owner = await call_center(callpad_server)
    removed: list[str] = []
    agent.on("invite.removed", lambda event: removed.append(event.state))
    started = await customer.sessions.start(
        vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
    )
    await agent.invites.next()
    await assert_stores_match(callpad_server, customer, agent, owner)

    cancelled = await customer.sessions.cancel(started.session.id)
    assert cancelled.end_reason == "cancelled"
    await eventually(lambda: not agent.invites and not agent.sessions and not owner.sessions)
    await assert_stores_match(callpad_server, customer, agent, owner)
    await eventually(lambda: removed == ["withdrawn"])
    with pytest.raises(ConflictError) as refused:
        await agent.sessions.accept(started.session.id, participant_id=cancelled.participants[1].id)
    assert (refused.value.status, refused.value.code) == (409, "session_ended")
    assert refused.value.request_id is not None and refused.value.request_id.startswith("req_")


async def test_the_agent_rejects(callpad_server: CallpadServer) -> None:
    customer, agent, owner = await call_center(callpad_server)
    ended: list[str | None] = []
    customer.on("session.updated", lambda event: ended.append(event.session.end_reason))
    await customer.sessions.start(vendor="acme", target={"type": "vendor_user", "user_id": AGENT})
    invite = await agent.invites.next()
    rejected = await agent.invites.reject(invite)
    assert (rejected.state, rejected.end_reason) == ("ended", "missed")
    await eventually(lambda: not customer.sessions)
    await assert_stores_match(callpad_server, customer, agent, owner)
    await eventually(lambda: "missed" in ended)


async def test_an_unanswered_invite_expires_even_while_disconnected(
    tmp_path: Path, callpad_template_database: Path, realtime: Realtime
) -> None:
    async with running_server(
        tmp_path, template=callpad_template_database, **realtime.settings
    ) as server:
        customer, agent, owner = await call_center(server, ring_timeout_s=1.5)
        started = await customer.sessions.start(
            vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
        )
        invite = await agent.invites.next()
        async with realtime.outage(server):
            # No removal can arrive: the SDK drops the invite at its expires_at by itself.
            await eventually(lambda: agent.status is not ConnectionStatus.CONNECTED)
            await eventually(lambda: invite.id not in agent.invites)
        await assert_stores_match(server, customer, agent, owner)
        ended = await customer.sessions.retrieve(started.session.id, vendor="acme")
        assert ended.end_reason == "missed"
        assert ended.participants[1].state_reason == "timeout"


async def test_stores_resync_over_http_when_realtime_cannot_recover(
    tmp_path: Path, callpad_template_database: Path, realtime: Realtime
) -> None:
    # The embedded hub keeps one publication per channel, so missing two means it cannot
    # recover; Centrifugo loses its streams with the Redis keys.
    async with running_server(
        tmp_path,
        template=callpad_template_database,
        realtime_history_size=1,
        **realtime.settings,
    ) as server:
        customer, agent, owner = await call_center(server)
        clients = (customer, agent, owner)
        started = await customer.sessions.start(
            vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
        )
        session_id = started.session.id
        invite = await agent.invites.next()
        await agent.invites.accept(invite)
        await assert_stores_match(server, *clients)

        async with realtime.outage(server, lose_history=True):
            await eventually(
                lambda: all(c.status is not ConnectionStatus.CONNECTED for c in clients)
            )
            # Changes made by someone else while everyone is cut off.
            held = await server.request("POST", AGENT, f"/vendors/acme/sessions/{session_id}/hold")
            assert held.status_code == 200, held.text
            renamed = await server.request(
                "PATCH", AGENT, f"/vendors/acme/sessions/{session_id}", json={"name": "Renamed"}
            )
            assert renamed.status_code == 200, renamed.text
            assert stored(customer, session_id).state == "active"  # not seen yet

        await eventually(lambda: all(c.status is ConnectionStatus.CONNECTED for c in clients))
        await assert_stores_match(server, *clients)
        assert stored(customer, session_id).name == "Renamed"
        assert all(c._realtime.resyncs >= 1 for c in clients)  # the HTTP path was taken

        # And again, ending the call while away: the re-sync drops it.
        async with realtime.outage(server, lose_history=True):
            await eventually(
                lambda: all(c.status is not ConnectionStatus.CONNECTED for c in clients)
            )
            await server.request("POST", AGENT, f"/vendors/acme/sessions/{session_id}/unhold")
            ended = await server.request("POST", AGENT, f"/vendors/acme/sessions/{session_id}/end")
            assert ended.status_code == 200, ended.text
        await eventually(lambda: not any(len(c.sessions) for c in clients))
        await assert_stores_match(server, *clients)


async def test_clients_connect_as_context_managers_and_refuse_strangers(
    callpad_server: CallpadServer,
) -> None:
    await callpad_server.create_vendor("acme", {AGENT: "agent"})
    stranger = await callpad_server.host_client("acme", 99)
    with pytest.raises(PermissionDeniedError) as refused:
        await stranger.connect()
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert stranger.status is ConnectionStatus.DISCONNECTED

    statuses = []  # inside the block, then after it
    async with await callpad_server.session_client(CUSTOMER) as customer:
        statuses.append(customer.status)
        started = await customer.sessions.start(
            vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
        )
        assert customer.sessions.get(started.session.id) == started.session
    statuses.append(customer.status)
    assert statuses == [ConnectionStatus.CONNECTED, ConnectionStatus.DISCONNECTED]


async def test_a_host_started_call_is_renamed_grows_shrinks_and_is_left(
    callpad_server: CallpadServer,
) -> None:
    """The host's controls through the SDK against the real server: a call the agent
    starts, renamed, joined again, with a party added and removed (DELETE), then left."""
    server = callpad_server
    await server.create_vendor("acme", {AGENT: "agent", SECOND_AGENT: "agent"})
    customer = await server.session_client(CUSTOMER, connect=True)
    agent = await server.host_client("acme", AGENT, connect=True)
    second = await server.host_client("acme", SECOND_AGENT, connect=True)
    clients = (customer, agent, second)

    started = await agent.sessions.start(target={"type": "customer", "user_id": CUSTOMER})
    session_id = started.session.id
    invite = await customer.invites.next()
    await customer.invites.accept(invite)
    await eventually(lambda: stored(agent, session_id).state == "active")

    renamed = await agent.sessions.rename(session_id, name="Follow-up")
    assert renamed.name == "Follow-up"
    await eventually(lambda: stored(customer, session_id).name == "Follow-up")
    grant = await customer.sessions.join(session_id)
    assert grant.room == started.session.room
    assert grant.participant_id == invite.participant_id

    added = await agent.sessions.add_participant(
        session_id, target={"type": "vendor_user", "user_id": SECOND_AGENT}
    )
    second_pid = next(p.id for p in added.participants if p.user_id == SECOND_AGENT)
    await second.invites.next()
    removed = await agent.sessions.remove_participant(session_id, participant_id=second_pid)
    gone = next(p for p in removed.participants if p.id == second_pid)
    assert gone.state is ParticipantState.WITHDRAWN
    await assert_stores_match(server, *clients)

    left = await customer.sessions.leave(session_id)
    assert left.state == "ended"
    await eventually(lambda: agent.sessions.get(session_id) is None)
    await assert_stores_match(server, *clients)


async def test_the_sdk_refreshes_its_realtime_token_without_dropping_the_connection(
    realtime: Realtime, tmp_path: Path
) -> None:
    """Tokens last 2 s: the client fetches fresh grants as they run out, stays connected
    the whole time (no status change), and still hears a call that starts later."""
    # An unrefreshed connection would be closed 1.5 s after its token ran out (3.5 s in at
    # the latest). The slack is the client's time to fetch a grant and refresh: with 0.5 s
    # a loaded machine dropped the connection once (the refresh was late, not missing).
    short = {"realtime_token_ttl_s": 2, "realtime_expired_close_delay_s": 1.5}
    settings = {**realtime.settings, **short}
    async with running_server(tmp_path, **settings) as server:
        await server.create_vendor("acme", {AGENT: "agent"})
        agent = await server.host_client("acme", AGENT, connect=True)
        moves: list[ConnectionStatus] = []
        agent.on("status", lambda event: moves.append(event.status))
        await asyncio.sleep(6)  # the connection outlives three tokens
        customer = await server.session_client(CUSTOMER, connect=True)
        started = await customer.sessions.start(
            vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
        )
        invite = await agent.invites.next()
        assert invite.session_id == started.session.id
        assert moves == [] and agent.status is ConnectionStatus.CONNECTED
