"""`CALLPAD_MEDIA=livekit` against the real livekit-server, with real audio: each party is a
`livekit` client joined with the grant Callpad returned, publishing a tone of its own
frequency, and what it hears is measured on the frames it receives."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from livekit import rtc

from testsupport.api import eventually
from testsupport.voice import ToneParty

from .conftest import (
    AGENT,
    AGENT_2,
    AGENT_2_HZ,
    AGENT_3,
    AGENT_3_HZ,
    AGENT_HZ,
    CUSTOMER,
    CUSTOMER_HZ,
    Callpad,
)

HOLD_WITHIN_S = 0.5


async def answered_call(callpad: Callpad) -> tuple[dict[str, Any], ToneParty, ToneParty]:
    """A customer calls an agent who answers; both join the room with their grants."""
    started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
    session = started["session"]
    assert await callpad.room_exists(session["room"]), "the room opens with the session"
    customer = await callpad.join("customer", CUSTOMER_HZ, started["join"])
    accepted = await callpad.accept(AGENT, session)
    agent = await callpad.join("agent", AGENT_HZ, accepted["join"])
    return accepted["session"], customer, agent


async def both_hear_each_other(a: ToneParty, b: ToneParty) -> None:
    await eventually(lambda: a.hears(b.freq) and b.hears(a.freq))


async def test_customer_and_agent_hear_each_other(callpad: Callpad) -> None:
    session, customer, agent = await answered_call(callpad)
    await both_hear_each_other(customer, agent)
    # The measure is frequency-selective: a frequency nobody plays is far below the tone.
    now = time.monotonic()
    assert customer.level(CUSTOMER_HZ + 1000, now=now) < customer.level(AGENT_HZ, now=now) / 5
    assert await callpad.in_room(session["room"]) == {
        p["id"] for p in session["participants"] if p["state"] == "accepted"
    }


async def test_hold_silences_both_ways_and_unhold_restores(callpad: Callpad) -> None:
    session, customer, agent = await answered_call(callpad)
    await both_hear_each_other(customer, agent)
    path = f"/vendors/acme/sessions/{session['id']}"

    held = await callpad.http.post(AGENT, path + "/hold")  # the agent is the host now
    asked = time.monotonic()
    assert held.status_code == 200, held.text
    await asyncio.sleep(HOLD_WITHIN_S + 0.2)
    # In the 200 ms after the half second: not a trace of either tone, either way.
    window_end = asked + HOLD_WITHIN_S + 0.2
    assert customer.level(AGENT_HZ, 0.2, now=window_end) < 0.01, "the held party hears nothing"
    assert agent.level(CUSTOMER_HZ, 0.2, now=window_end) < 0.01, "nobody hears the held party"

    unheld = await callpad.http.post(AGENT, path + "/unhold")
    assert unheld.status_code == 200, unheld.text
    await both_hear_each_other(customer, agent)


async def test_a_held_party_that_reconnects_stays_held(callpad: Callpad) -> None:
    session, customer, agent = await answered_call(callpad)
    await both_hear_each_other(customer, agent)
    path = f"/vendors/acme/sessions/{session['id']}"
    assert (await callpad.http.post(AGENT, path + "/hold")).status_code == 200
    await eventually(lambda: customer.hears_nothing_of(AGENT_HZ))

    await customer.leave()
    grant = (await callpad.http.post(CUSTOMER, path + "/join")).json()
    again = await callpad.join("customer again", CUSTOMER_HZ, grant)
    assert not again.room.local_participant.permissions.can_publish
    assert not again.room.local_participant.permissions.can_subscribe
    await asyncio.sleep(1.0)  # long enough to hear anything that got through
    assert again.hears_nothing_of(AGENT_HZ)
    assert agent.level(CUSTOMER_HZ, 0.5) < 0.01

    assert (await callpad.http.post(AGENT, path + "/unhold")).status_code == 200
    await both_hear_each_other(again, agent)


async def test_remove_leave_and_end_disconnect_the_right_clients(callpad: Callpad) -> None:
    started = await callpad.start_call(AGENT, {"type": "customer", "user_id": CUSTOMER})
    session = started["session"]
    path = f"/vendors/acme/sessions/{session['id']}"
    host = await callpad.join("host", AGENT_HZ, started["join"])
    customer = await callpad.join(
        "customer", CUSTOMER_HZ, (await callpad.accept(CUSTOMER, session))["join"]
    )
    others: dict[int, ToneParty] = {}
    for user_id, freq in ((AGENT_2, AGENT_2_HZ), (AGENT_3, AGENT_3_HZ)):
        added = await callpad.http.post(
            AGENT,
            path + "/participants",
            json={"target": {"type": "vendor_user", "user_id": user_id}},
        )
        assert added.status_code == 200, added.text
        accepted = await callpad.accept(user_id, added.json())
        others[user_id] = await callpad.join(f"agent {user_id}", freq, accepted["join"])
    everyone = [host, customer, *others.values()]
    await eventually(lambda: all(p.hears(q.freq) for p in everyone for q in everyone if p is not q))

    removed_id = others[AGENT_2].identity
    removed = await callpad.http.delete(AGENT, f"{path}/participants/{removed_id}")
    assert removed.status_code == 200, removed.text
    await asyncio.wait_for(others[AGENT_2].disconnected.wait(), 10)
    assert others[AGENT_2].disconnect_reasons == [rtc.DisconnectReason.PARTICIPANT_REMOVED]

    left = await callpad.http.post(AGENT_3, path + "/leave")
    assert left.status_code == 200, left.text
    await asyncio.wait_for(others[AGENT_3].disconnected.wait(), 10)
    assert others[AGENT_3].disconnect_reasons == [rtc.DisconnectReason.PARTICIPANT_REMOVED]
    assert await callpad.in_room(session["room"]) == {host.identity, customer.identity}
    assert not host.disconnected.is_set() and not customer.disconnected.is_set()

    ended = await callpad.http.post(AGENT, path + "/end")
    assert ended.status_code == 200, ended.text
    for party in (host, customer):
        await asyncio.wait_for(party.disconnected.wait(), 10)
        assert party.disconnect_reasons == [rtc.DisconnectReason.ROOM_DELETED]
    assert not await callpad.room_exists(session["room"])
