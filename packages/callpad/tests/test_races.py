"""Races have one winner: requests fired at the same moment, on SQLite and PostgreSQL.

Each test repeats its race many rounds over the in-process app. Every round, the loser
gets a 409 problem, the stored session is one of the legal outcomes, its version counts
exactly the changes that won, and the outbox holds the winner's events and nothing else.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from callpad.context import AppContext
from callpad.db.tables import invites, outbox, sessions
from callpad.realtime.outbox import stored_events
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from testsupport.api import Api

from .conftest import AGENT, CUSTOMER, OTHER_AGENT, OWNER, participant, ring

ROUNDS = 20  # many rounds, within a few seconds per test
PROBLEM_JSON = "application/problem+json"


async def accept(api: Api, vendor: str, user_id: int, sid: str, pid: str) -> httpx.Response:
    return await api.post(user_id, f"/vendors/{vendor}/sessions/{sid}/participants/{pid}/accept")


async def view(api: Api, vendor: str, sid: str, user_id: int = CUSTOMER) -> dict[str, Any]:
    got = await api.get(user_id, f"/vendors/{vendor}/sessions/{sid}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def settled(api: Api, vendor: str, sid: str, within_s: float = 10.0) -> dict[str, Any]:
    """The session once it has ended (polled: the expiry worker runs on its own time)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        current = await view(api, vendor, sid)
        if current["state"] == "ended" or asyncio.get_running_loop().time() > deadline:
            return current
        await asyncio.sleep(0.01)


def assert_lost(response: httpx.Response, *codes: str) -> None:
    """The loser of a race: a 409 problem with one of the expected codes."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] in codes, response.text


async def outbox_events(conn: AsyncConnection) -> list[tuple[str, Any]]:
    """(topic, data) of every event in the outbox, in commit order, fan-outs expanded."""
    rows = await conn.execute(
        sa.select(outbox.c.topic, outbox.c.channels, outbox.c.data, outbox.c.fanned_out).order_by(
            outbox.c.id
        )
    )
    return [(topic, data) for row in rows for topic, _, data in stored_events(*row)]


async def assert_stored_consistently(app: FastAPI, final: dict[str, Any]) -> None:
    """The stored row, the invites table and the outbox agree with the final view.

    Every version from 1 to the final one was announced by exactly one `session.upsert`
    (a loser's rolled-back change leaves no event), the last of them is the view itself,
    each invite row closed with its participant, and each closed invite was removed
    exactly once, with the state it closed in.
    """
    ctx: AppContext = app.state.ctx
    sid = final["id"]
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(sessions.c.version, sessions.c.state).where(sessions.c.id == sid)
            )
        ).one()
        invite_states = dict(
            (
                await conn.execute(
                    sa.select(invites.c.participant_id, invites.c.state).where(
                        invites.c.session_id == sid
                    )
                )
            ).all()
        )
        events = await outbox_events(conn)
    assert (row.version, row.state) == (final["version"], final["state"])

    upserts = [data for topic, data in events if topic == "session.upsert" and data["id"] == sid]
    assert [u["version"] for u in upserts] == list(range(1, final["version"] + 1))
    assert upserts[-1] == final

    removed = Counter(
        (data["participant_id"], data["state"])
        for topic, data in events
        if topic == "session.invite.remove" and data["session_id"] == sid
    )
    states = {p["id"]: p["state"] for p in final["participants"]}
    for pid, state in invite_states.items():
        if states[pid] == "invited":
            assert state == "pending", (pid, invite_states, final)
        elif states[pid] in ("declined", "withdrawn"):
            assert state == states[pid], (pid, invite_states, final)
        else:  # answered, then maybe left: the invite closed when it was answered
            assert state == "accepted", (pid, invite_states, final)
    closed = {pid: state for pid, state in invite_states.items() if state != "pending"}
    assert removed == Counter(closed.items())


async def test_one_invite_accepted_on_two_devices_at_once_has_one_winner(
    api: Api, app: FastAPI, acme: Any
) -> None:
    for _ in range(ROUNDS):
        sid, pid = await ring(api, "acme", CUSTOMER, AGENT)
        responses = await asyncio.gather(
            accept(api, "acme", AGENT, sid, pid), accept(api, "acme", AGENT, sid, pid)
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        loser = next(r for r in responses if r.status_code != 200)
        assert_lost(loser, "invite_not_pending")
        assert winner.json()["join"]["participant_id"] == pid

        final = await view(api, "acme", sid)
        assert final == winner.json()["session"]
        assert (final["state"], final["version"]) == ("active", 2)
        assert participant(final, AGENT)["state"] == "accepted"
        await assert_stored_consistently(app, final)


async def test_accept_racing_cancel_has_one_winner(api: Api, app: FastAPI, acme: Any) -> None:
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        sid, pid = await ring(api, "acme", CUSTOMER, AGENT)
        accepted, cancelled = await asyncio.gather(
            accept(api, "acme", AGENT, sid, pid),
            api.post(CUSTOMER, f"/vendors/acme/sessions/{sid}/cancel"),
        )
        final = await view(api, "acme", sid)
        agent = participant(final, AGENT)
        if accepted.status_code == 200:
            outcomes["answered"] += 1
            assert_lost(cancelled, "invalid_state")
            assert final == accepted.json()["session"]
            assert (final["state"], agent["state"]) == ("active", "accepted")
        else:
            outcomes["cancelled"] += 1
            assert_lost(accepted, "session_ended", "invite_not_pending")
            assert cancelled.status_code == 200, cancelled.text
            assert final == cancelled.json()
            assert (final["state"], final["end_reason"]) == ("ended", "cancelled")
            assert (agent["state"], agent["state_reason"]) == ("withdrawn", "cancelled")
        assert final["version"] == 2
        await assert_stored_consistently(app, final)
    assert outcomes.total() == ROUNDS


async def test_accept_racing_end_has_one_legal_outcome(api: Api, app: FastAPI, acme: Any) -> None:
    """The host ends a live call while a third party's invite is answered."""
    for _ in range(ROUNDS):
        sid, agent_pid = await ring(api, "acme", OWNER, AGENT)
        answered = await accept(api, "acme", AGENT, sid, agent_pid)
        assert answered.status_code == 200, answered.text
        added = await api.post(
            OWNER,
            f"/vendors/acme/sessions/{sid}/participants",
            json={"target": {"type": "vendor_user", "user_id": OTHER_AGENT}},
        )
        assert added.status_code == 200, added.text
        before = added.json()
        third = participant(before, OTHER_AGENT)["id"]

        accepted, ended = await asyncio.gather(
            accept(api, "acme", OTHER_AGENT, sid, third),
            api.post(OWNER, f"/vendors/acme/sessions/{sid}/end"),
        )
        # Ending is open to the host either way; the accept wins only if it came first.
        assert ended.status_code == 200, ended.text
        final = await view(api, "acme", sid, OWNER)
        assert final == ended.json()
        assert (final["state"], final["end_reason"]) == ("ended", "ended_by_host")
        joined = participant(final, OTHER_AGENT)
        if accepted.status_code == 200:
            assert accepted.json()["session"]["version"] == before["version"] + 1
            assert (joined["state"], joined["state_reason"]) == ("left", "hung_up")
            assert final["version"] == before["version"] + 2
        else:
            assert_lost(accepted, "session_ended")
            assert (joined["state"], joined["state_reason"]) == ("withdrawn", "cancelled")
            assert final["version"] == before["version"] + 1
        await assert_stored_consistently(app, final)


async def test_accept_racing_the_ring_timeout_has_one_winner(api: Api, app: FastAPI) -> None:
    """The expiry worker and the answer race for an invite that is about to time out."""
    ring_timeout_s = 0.06
    await api.create_vendor("quick", {AGENT: "agent"}, ring_timeout_s=ring_timeout_s)
    jitter = random.Random(2)
    rounds: list[tuple[str, str]] = []
    for _ in range(ROUNDS):
        sid, pid = await ring(api, "quick", CUSTOMER, AGENT)
        # Answer around the deadline, so the answer and the worker's expiry meet there.
        await asyncio.sleep(jitter.uniform(0.5, 1.5) * ring_timeout_s)
        accepted = await accept(api, "quick", AGENT, sid, pid)
        final = await view(api, "quick", sid)
        if accepted.status_code != 200:
            # A ring past its deadline is refused at once; the worker withdraws it soon after.
            final = await settled(api, "quick", sid)
        agent = participant(final, AGENT)
        if accepted.status_code == 200:
            assert final == accepted.json()["session"]
            assert (final["state"], agent["state"]) == ("active", "accepted")
            rounds.append((sid, "answered"))
        else:
            assert_lost(accepted, "session_ended", "invite_not_pending")
            assert (final["state"], final["end_reason"]) == ("ended", "missed")
            assert (agent["state"], agent["state_reason"]) == ("withdrawn", "timeout")
            rounds.append((sid, "expired"))
        assert final["version"] == 2
        await assert_stored_consistently(app, final)

    # Long after every deadline: no answered call was expired late, nothing changed twice.
    await asyncio.sleep(3 * ring_timeout_s)
    for sid, outcome in rounds:
        final = await view(api, "quick", sid)
        assert final["version"] == 2
        assert final["state"] == ("active" if outcome == "answered" else "ended")
        await assert_stored_consistently(app, final)
