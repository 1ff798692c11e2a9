"""Team calls through the SDK against a real server, on the embedded hub and on a real
Centrifugo: presence, the dispatch events, and agents' invite stores following the race."""

from __future__ import annotations

import asyncio
from typing import Any

from farvex import DispatchChanged, DispatchState, HostClient, InviteRemoved, PresenceChanged
from farvex.testing import CallpadServer, handlers_done

from testsupport.api import eventually

from ._support import CUSTOMER, OWNER, assert_stores_match
from .conftest import Realtime

AGENTS = (42, 43, 44)


async def support_team(server: CallpadServer, **settings: Any) -> list[HostClient]:
    """acme's support team, every agent connected and available."""
    await server.create_vendor("acme", {OWNER: "owner", **{a: "agent" for a in AGENTS}})
    await server.create_team("acme", OWNER, "support", list(AGENTS), **settings)
    agents = [await server.host_client("acme", a, connect=True) for a in AGENTS]
    for agent in agents:
        await agent.presence.set("available")
    return agents


async def test_one_agent_answers_and_the_others_invites_are_dropped(
    callpad_server: CallpadServer, realtime: Realtime
) -> None:
    server = callpad_server
    agents = await support_team(server)
    owner = await server.host_client("acme", OWNER, connect=True)
    await eventually(lambda: [p.status for p in owner.presence.list()] == ["available"] * 3)

    customer = await server.session_client(CUSTOMER, connect=True)
    dispatch_events: list[tuple[str, DispatchState | str]] = []
    for name in ("dispatch.started", "dispatch.resolved", "dispatch.cancelled"):
        customer.on(
            name,
            lambda e, name=name: dispatch_events.append((name, e.dispatch.state)),
        )
    removed: dict[int, list[tuple[str, str | None]]] = {a.user_id: [] for a in agents}
    for agent in agents:

        def note(e: InviteRemoved, user: int = agent.user_id) -> None:
            removed[user].append((e.state, e.reason))

        agent.on("invite.removed", note)

    started = await customer.sessions.start(
        vendor="acme", target={"type": "team", "team": "support"}
    )
    (dispatch,) = started.session.dispatches
    assert dispatch.state == DispatchState.RINGING
    invites = [await asyncio.wait_for(a.invites.next(), 10) for a in agents]
    assert {i.dispatch_id for i in invites} == {dispatch.id}

    answered = await agents[1].invites.accept(invites[1])
    assert answered.session.dispatches[0].state == DispatchState.RESOLVED
    await eventually(lambda: all(len(a.invites) == 0 for a in agents))
    for agent in agents:  # their stores changed; now their `invite.removed` handlers ran
        await handlers_done(agent)
    assert removed == {
        42: [("withdrawn", "answered_elsewhere")],
        43: [("accepted", None)],
        44: [("withdrawn", "answered_elsewhere")],
    }
    await eventually(lambda: len(dispatch_events) == 2)
    assert dispatch_events == [
        ("dispatch.started", DispatchState.RINGING),
        ("dispatch.resolved", DispatchState.RESOLVED),
    ]
    held = customer.sessions.get(started.session.id)
    assert held is not None
    assert held.dispatches[0].resolved_participant_id == invites[1].participant_id
    await assert_stores_match(server, customer, owner, *agents)


async def test_a_queued_call_rings_when_an_agent_turns_available_and_presence_is_live(
    callpad_server: CallpadServer, realtime: Realtime
) -> None:
    server = callpad_server
    agents = await support_team(server)
    for agent in agents:
        await agent.presence.set("away")
    watcher = agents[0]
    changes: list[tuple[int, str]] = []

    def on_presence(e: PresenceChanged) -> None:
        changes.append((e.presence.user_id, str(e.presence.status)))

    watcher.on("presence.updated", on_presence)
    customer = await server.session_client(CUSTOMER, connect=True)
    started = await customer.sessions.start(
        vendor="acme", target={"type": "team", "team": "support"}
    )
    sid = started.session.id

    def queued_at(position: int) -> bool:
        held = customer.sessions.get(sid)
        return held is not None and held.dispatches[0].queue_position == position

    await eventually(lambda: queued_at(1))
    await agents[2].presence.set("available")
    await eventually(lambda: (44, "available") in changes)
    assert watcher.presence.get(44) is not None
    invite = await asyncio.wait_for(agents[2].invites.next(), 10)
    assert invite.session_id == sid

    cancelled: list[DispatchChanged] = []
    customer.on("dispatch.cancelled", cancelled.append)
    await customer.sessions.cancel(sid)
    await eventually(lambda: len(cancelled) == 1 and len(agents[2].invites) == 0)
    assert (cancelled[0].dispatch.state, cancelled[0].dispatch.reason) == (
        DispatchState.CANCELLED,
        "caller_cancelled",
    )
    await assert_stores_match(server, customer, *agents)
