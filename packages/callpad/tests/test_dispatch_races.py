"""Team dispatch races over HTTP, with three `callpad serve` processes on one PostgreSQL.

Each race runs `ROUNDS` rounds (200 in the suite; `CALLPAD_RACE_ROUNDS` changes it, and
bench/dispatch_soak.py runs many more), its requests spread over the processes. Measured
on the 2-core machine while other suites ran (load ~15): 30 rounds took 210-320 s per race;
a round is a few hundred milliseconds of server work on an idle machine. Every round:
exactly one outcome wins, every other ring of the dispatch is withdrawn with the reason
that outcome implies, no request answers 5xx, and the session's stored history announces
every version exactly once. A queued call survives a restart of every server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from callpad.config import to_async_url
from callpad.db.engine import Database
from callpad.db.tables import outbox
from callpad.testing import fast_settings

from testsupport import processes
from testsupport.api import Api, eventually

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(1800)]

ROUNDS = int(os.environ.get("CALLPAD_RACE_ROUNDS", "200"))
PROCESSES = 3
POLL_S = 0.05
CUSTOMER, OWNER = 7, 1
AGENTS = list(range(100, 120))  # 20 agents


class Cluster:
    """Clients for each server process, and a witness reading the shared database."""

    def __init__(self, apis: list[Api], database_url: str) -> None:
        self.apis = apis
        self.db = Database(to_async_url(database_url))
        self.statuses: Counter[int] = Counter()

    def api(self, n: int) -> Api:
        return self.apis[n % len(self.apis)]

    async def send(self, n: int, method: str, user: int, path: str, **kw: Any) -> httpx.Response:
        response = await self.api(n).request(method, user, path, **kw)
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, response.text
        return response

    async def start(self, n: int, caller: int = CUSTOMER) -> dict[str, Any]:
        started = await self.send(
            n,
            "POST",
            caller,
            "/vendors/acme/sessions",
            json={"target": {"type": "team", "team": "support"}},
        )
        assert started.status_code == 201, started.text
        session: dict[str, Any] = started.json()["session"]
        return session

    async def accept(self, n: int, session: dict[str, Any], user: int) -> httpx.Response:
        pid = next(p["id"] for p in session["participants"] if p["user_id"] == user)
        path = f"/vendors/acme/sessions/{session['id']}/participants/{pid}/accept"
        return await self.send(n, "POST", user, path)

    async def view(self, n: int, sid: str) -> dict[str, Any]:
        got = await self.send(n, "GET", CUSTOMER, f"/vendors/acme/sessions/{sid}")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    async def until(self, n: int, sid: str, check: Any) -> dict[str, Any]:
        """The session's view once `check(view)` holds (it follows a timer)."""

        async def reached() -> dict[str, Any] | None:
            current = await self.view(n, sid)
            return current if check(current) else None

        found: dict[str, Any] = await eventually(reached, within_s=30)
        return found

    async def hang_up(self, n: int, session: dict[str, Any]) -> None:
        """End a round's call so its agents are free for the next round."""
        if session["state"] == "ended":
            return
        action = "cancel" if session["state"] == "ringing" else "end"
        user = CUSTOMER if action == "cancel" else _host(session)
        done = await self.send(n, "POST", user, f"/vendors/acme/sessions/{session['id']}/{action}")
        if done.status_code != 200:  # a timer ended it meanwhile
            assert_lost(done, "session_ended")

    async def announced_versions(self, sid: str) -> list[int]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(outbox.c.data["version"].as_integer())
                .where(outbox.c.topic == "session.upsert", outbox.c.data["id"].as_string() == sid)
                .order_by(outbox.c.id)
            )
            return [v for (v,) in rows]

    async def assert_history(self, final: dict[str, Any]) -> None:
        """Each version up to `final`'s was announced once, in order (later ones may
        follow: a timer or the hang-up)."""
        announced = await self.announced_versions(final["id"])
        assert announced[: final["version"]] == list(range(1, final["version"] + 1))
        assert announced == list(range(1, len(announced) + 1))


def _host(session: dict[str, Any]) -> int:
    host: int = next(
        p["user_id"]
        for p in session["participants"]
        if p["role"] == "host" and p["state"] == "accepted"
    )
    return host


def _dispatch(session: dict[str, Any]) -> dict[str, Any]:
    (dispatch,) = session["dispatches"]
    found: dict[str, Any] = dispatch
    return found


def assert_one_winner(final: dict[str, Any], winner: int) -> None:
    """`winner` answered; every other agent rung was withdrawn as answered elsewhere."""
    dispatch = _dispatch(final)
    assert (dispatch["state"], dispatch["reason"]) == ("resolved", "answered")
    agents = [p for p in final["participants"] if p["dispatch_id"] == dispatch["id"]]
    accepted = [p for p in agents if p["state"] in ("accepted", "left")]
    assert [p["user_id"] for p in accepted] == [winner]
    assert dispatch["resolved_participant_id"] == accepted[0]["id"]
    for p in agents:
        if p["user_id"] != winner:
            assert (p["state"], p["state_reason"]) == ("withdrawn", "answered_elsewhere"), p


def assert_lost(response: httpx.Response, *codes: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["code"] in codes, response.text


@contextlib.asynccontextmanager
async def cluster(postgres_url: str, workdir: Path, **team: Any) -> AsyncIterator[Cluster]:
    env = {"CALLPAD_TIMER_POLL_INTERVAL_S": str(POLL_S)}
    async with processes.serving(postgres_url, workdir, [env] * PROCESSES) as servers:
        clients = [_client(s.url) for s in servers]
        try:
            apis = [Api(c, fast_settings(postgres_url)) for c in clients]
            c = Cluster(apis, postgres_url)
            await apis[0].create_vendor("acme", {OWNER: "owner", **{a: "agent" for a in AGENTS}})
            members = team.pop("members", AGENTS)
            put = await apis[0].put(
                OWNER, "/vendors/acme/teams/support", json={"members": members, **team}
            )
            assert put.status_code == 200, put.text
            for n, agent in enumerate(members):
                got = await c.send(
                    n, "PUT", agent, "/vendors/acme/presence/me", json={"status": "available"}
                )
                assert got.status_code == 200, got.text
            yield c
            assert not [s for s in c.statuses if s >= 500], c.statuses
        finally:
            await c.db.dispose()
            for client in clients:
                await client.aclose()


async def test_twenty_agents_accepting_at_once_have_one_winner(
    postgres_url: str, tmp_path: Path
) -> None:
    async with cluster(postgres_url, tmp_path) as c:
        for round_ in range(ROUNDS):
            session = await c.start(round_)
            assert sorted(p["user_id"] for p in session["participants"][1:]) == AGENTS
            responses = await asyncio.gather(
                *(c.accept(round_ + i, session, agent) for i, agent in enumerate(AGENTS))
            )
            won = [a for a, r in zip(AGENTS, responses, strict=True) if r.status_code == 200]
            assert len(won) == 1, [r.text for r in responses]
            for r in responses:
                if r.status_code != 200:
                    assert_lost(r, "invite_not_pending")
            final = await c.view(round_ + 1, session["id"])
            assert final["version"] == 2
            assert_one_winner(final, won[0])
            await c.assert_history(final)
            await c.hang_up(round_, final)


async def test_accept_racing_the_callers_cancel_has_one_winner(
    postgres_url: str, tmp_path: Path
) -> None:
    agents = AGENTS[:3]
    outcomes: Counter[str] = Counter()
    async with cluster(postgres_url, tmp_path, members=agents) as c:
        for round_ in range(ROUNDS):
            session = await c.start(round_)
            agent = agents[round_ % 3]
            accepted, cancelled = await asyncio.gather(
                c.accept(round_ + 1, session, agent),
                c.send(
                    round_ + 2, "POST", CUSTOMER, f"/vendors/acme/sessions/{session['id']}/cancel"
                ),
            )
            final = await c.view(round_, session["id"])
            if accepted.status_code == 200:
                outcomes["answered"] += 1
                assert_lost(cancelled, "invalid_state")
                assert_one_winner(final, agent)
            else:
                outcomes["cancelled"] += 1
                assert_lost(accepted, "session_ended", "invite_not_pending")
                assert cancelled.status_code == 200, cancelled.text
                dispatch = _dispatch(final)
                assert (dispatch["state"], dispatch["reason"]) == ("cancelled", "caller_cancelled")
                assert {(p["state"], p["state_reason"]) for p in final["participants"][1:]} == {
                    ("withdrawn", "cancelled")
                }
            assert final["version"] == 2
            await c.assert_history(final)
            await c.hang_up(round_, final)
    assert outcomes.total() == ROUNDS


async def test_accept_racing_a_sequential_step_timeout_has_one_winner(
    postgres_url: str, tmp_path: Path
) -> None:
    """The first agent answers around its ring timeout: either they win, or the step
    moves on to the second agent, never both."""
    ring_timeout_s = 0.15
    first, second = AGENTS[:2]
    jitter = random.Random(11)
    outcomes: Counter[str] = Counter()
    async with cluster(
        postgres_url,
        tmp_path,
        members=[first, second],
        strategy="sequential",
        ring_timeout_s=ring_timeout_s,
    ) as c:
        for round_ in range(ROUNDS):
            session = await c.start(round_)
            await asyncio.sleep(jitter.uniform(0.6, 1.4) * ring_timeout_s)
            accepted = await c.accept(round_ + 1, session, first)
            if accepted.status_code == 200:
                outcomes["answered"] += 1
                final = await c.view(round_ + 2, session["id"])
                assert_one_winner(final, first)
                assert final["version"] == 2
            else:
                outcomes["moved on"] += 1
                # The ring ran out (and, on a slow machine, the second agent's may have too).
                assert_lost(accepted, "invite_not_pending", "session_ended")

                def moved_on(s: dict[str, Any]) -> bool:
                    return len(_dispatch(s)["attempts"]) == 2

                final = await c.until(round_ + 2, session["id"], moved_on)
                dispatch = _dispatch(final)
                rung = [(a["user_id"], a["state"], a["state_reason"]) for a in dispatch["attempts"]]
                assert rung[0] == (first, "withdrawn", "timeout")
                if final["state"] == "ringing":
                    assert rung[1] == (second, "invited", None)
                else:  # the second agent's short ring ran out too: nobody answered
                    assert rung[1] == (second, "withdrawn", "timeout")
                    assert (dispatch["reason"], final["end_reason"]) == ("no_answer", "missed")
            await c.assert_history(final)
            await c.hang_up(round_, final)
    assert outcomes.total() == ROUNDS


async def test_accept_racing_the_dispatch_timeout_has_one_winner(
    postgres_url: str, tmp_path: Path
) -> None:
    dispatch_timeout_s = 0.08
    agents = AGENTS[:3]
    jitter = random.Random(12)
    outcomes: Counter[str] = Counter()
    async with cluster(
        postgres_url,
        tmp_path,
        members=agents,
        dispatch_timeout_s=dispatch_timeout_s,
        ring_timeout_s=30,
    ) as c:
        for round_ in range(ROUNDS):
            session = await c.start(round_)
            agent = agents[round_ % 3]
            await asyncio.sleep(jitter.uniform(0.6, 1.4) * dispatch_timeout_s)
            accepted = await c.accept(round_ + 1, session, agent)
            if accepted.status_code == 200:
                outcomes["answered"] += 1
                final = await c.view(round_ + 2, session["id"])
                assert_one_winner(final, agent)
            else:
                outcomes["expired"] += 1
                assert_lost(accepted, "invite_not_pending", "session_ended")
                final = await c.until(round_ + 2, session["id"], _ended)
                dispatch = _dispatch(final)
                assert (dispatch["state"], dispatch["reason"]) == ("expired", "dispatch_timeout")
                assert (final["end_reason"], final["state"]) == ("missed", "ended")
                assert {(p["state"], p["state_reason"]) for p in final["participants"][1:]} == {
                    ("withdrawn", "timeout")
                }
            assert final["version"] == 2
            await c.assert_history(final)
            await c.hang_up(round_, final)
    assert outcomes.total() == ROUNDS


async def test_a_queued_call_survives_a_restart_and_rings_when_an_agent_turns_available(
    postgres_url: str, tmp_path: Path
) -> None:
    agent = AGENTS[0]
    async with cluster_of(postgres_url, tmp_path, 1) as (api,):
        await api.create_vendor("acme", {OWNER: "owner", agent: "agent"})
        put = await api.put(OWNER, "/vendors/acme/teams/support", json={"members": [agent]})
        assert put.status_code == 200, put.text
        started = await api.post(
            CUSTOMER,
            "/vendors/acme/sessions",
            json={"target": {"type": "team", "team": "support"}},
        )
        session = started.json()["session"]
        assert _dispatch(session)["state"] == "queued"
    # Every server is down; two come back, and the agent turns available on one of them.
    async with cluster_of(postgres_url, tmp_path, 2) as (a, b):
        queued = (await b.get(CUSTOMER, f"/vendors/acme/sessions/{session['id']}")).json()
        assert (queued["state"], _dispatch(queued)["state"]) == ("ringing", "queued")
        put = await a.put(agent, "/vendors/acme/presence/me", json={"status": "available"})
        assert put.status_code == 200, put.text

        async def rung() -> dict[str, Any] | None:
            got = (await b.get(CUSTOMER, f"/vendors/acme/sessions/{session['id']}")).json()
            return got if _dispatch(got)["state"] == "ringing" else None

        ringing = await eventually(rung)
        (attempt,) = _dispatch(ringing)["attempts"]
        assert (attempt["user_id"], attempt["state"]) == (agent, "invited")
        accepted = await b.post(
            agent,
            f"/vendors/acme/sessions/{session['id']}/participants/{attempt['participant_id']}/accept",
        )
        assert accepted.status_code == 200, accepted.text
        final = accepted.json()["session"]
        assert (final["state"], _dispatch(final)["state"]) == ("active", "resolved")
        # Dequeued once: one `ringing` step between the queued and the answered versions.
        assert final["version"] == queued["version"] + 2


@contextlib.asynccontextmanager
async def cluster_of(postgres_url: str, workdir: Path, count: int) -> AsyncIterator[list[Api]]:
    env = {"CALLPAD_TIMER_POLL_INTERVAL_S": str(POLL_S)}
    async with processes.serving(postgres_url, workdir, [env] * count) as servers:
        clients = [_client(s.url) for s in servers]
        try:
            yield [Api(c, fast_settings(postgres_url)) for c in clients]
        finally:
            for client in clients:
                await client.aclose()


def _client(url: str) -> httpx.AsyncClient:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them, so
    # a request never races the server closing its connection.
    limits = httpx.Limits(keepalive_expiry=1.0)
    return httpx.AsyncClient(base_url=url, trust_env=False, timeout=60, limits=limits)


def _ended(session: dict[str, Any]) -> bool:
    return bool(session["state"] == "ended")
