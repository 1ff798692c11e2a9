"""Scale-out: two Centrifugo nodes on the Redis engine behind two `callpad serve` processes
on one PostgreSQL. Each API process publishes to its own node and hands out its node's URL;
the load goes through both. A client on each node receives every event once, in order, and
a process SIGKILLed mid-load loses no acknowledged event (the other's relay resumes it)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from callpad.config import to_async_url
from callpad.db.engine import Database
from callpad.db.tables import outbox
from callpad.realtime.channels import agent_channel, user_channel
from callpad.realtime.outbox import stored_events
from callpad.testing import fast_settings

from testsupport.api import Api, eventually
from testsupport.processes import CallpadProcess, serving
from testsupport.servers import CentrifugoServer, run_centrifugo_nodes

from .conftest import AGENT, CUSTOMER, Recorder, centrifuge_client

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

AGENTS = (AGENT, AGENT + 1, AGENT + 2)  # one call with each, all live at once
RENAMES = 150
CONCURRENCY = 6
KILL_AFTER = 40  # acknowledged renames before the second process is killed


def node_env(node: CentrifugoServer) -> dict[str, str]:
    return {
        f"CALLPAD_{name.upper()}": str(value) for name, value in node.callpad_settings().items()
    } | {"CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S": "0.2"}


@asynccontextmanager
async def api_for(server: CallpadProcess, database_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client:
        yield Api(client, fast_settings(database_url))


async def outbox_for(database_url: str, channel: str) -> tuple[list[Any], int]:
    """The channel's `{topic, data}` events in commit order, and how many rows of the whole
    outbox are still unpublished."""
    db = Database(to_async_url(database_url))
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        outbox.c.topic,
                        outbox.c.data,
                        outbox.c.channels,
                        outbox.c.fanned_out,
                        outbox.c.published_at,
                    ).order_by(outbox.c.id)
                )
            ).all()
    finally:
        await db.dispose()
    events = [
        {"topic": t, "data": d}
        for topic, data, channels, fanned_out, _ in rows
        for t, chans, d in stored_events(topic, channels, data, fanned_out)
        if channel in chans
    ]
    return events, sum(1 for *_, published in rows if published is None)


def upserts(seen: Recorder, channel: str) -> list[tuple[str, int]]:
    return [
        (p["data"]["id"], p["data"]["version"])
        for p in seen.publications.get(channel, [])
        if p["topic"] == "session.upsert"
    ]


async def test_two_nodes_two_api_processes_each_event_once_in_order_and_none_lost_to_a_kill(
    postgres_url: str, tmp_path: Path, redis: str
) -> None:
    with run_centrifugo_nodes(tmp_path / "centrifugo", redis, nodes=2) as (node_a, node_b):
        async with (
            serving(postgres_url, tmp_path, [node_env(node_a), node_env(node_b)]) as (a, b),
            api_for(a, postgres_url) as api_a,
            api_for(b, postgres_url) as api_b,
        ):
            await api_a.create_vendor("acme", dict.fromkeys(AGENTS, "agent"))
            # The customer's client on node A (grant from process A), the agent's on node B.
            customer_grant = (await api_a.get(CUSTOMER, "/realtime/grant")).json()
            agent_grant = (await api_b.get(AGENT, "/vendors/acme/realtime/grant")).json()
            assert customer_grant["url"] == node_a.url and agent_grant["url"] == node_b.url
            async with (
                centrifuge_client(customer_grant["url"], customer_grant["token"]) as (c, customer),
                centrifuge_client(agent_grant["url"], agent_grant["token"]) as (g, agent),
            ):
                await c.ready()
                await g.ready()
                await eventually(lambda: customer.subscribed and agent.subscribed)
                acknowledged = await run_load(api_a, api_b, b)

                customer_channel, agents_channel = (
                    user_channel(CUSTOMER),
                    agent_channel("acme", AGENT),
                )
                for seen, channel in ((customer, customer_channel), (agent, agents_channel)):

                    async def settled(channel: str = channel) -> bool:
                        events, unpublished = await outbox_for(postgres_url, channel)
                        return unpublished == 0 and len(events) > 0

                    await eventually(settled, within_s=30)
                    expected, _ = await outbox_for(postgres_url, channel)
                    await eventually(
                        lambda seen=seen, channel=channel, expected=expected: (
                            len(seen.publications.get(channel, [])) >= len(expected)
                        ),
                        within_s=30,
                    )
                    received = seen.publications[channel]
                    # Once each (nothing twice, nothing lost), at consecutive offsets.
                    assert sorted(map(str, received)) == sorted(map(str, expected))
                    assert seen.offsets[channel] == list(range(1, len(expected) + 1))
                    # In order: each session's versions only go up.
                    by_session: dict[str, list[int]] = {}
                    for sid, version in upserts(seen, channel):
                        by_session.setdefault(sid, []).append(version)
                    for versions in by_session.values():
                        assert versions == sorted(set(versions))
                    assert seen.connected == 1 and not seen.disconnected

                # Every acknowledged change reached both clients.
                customer_versions = set(upserts(customer, customer_channel))
                agent_versions = set(upserts(agent, agents_channel))
                assert acknowledged and acknowledged <= customer_versions
                mine = {
                    (sid, v) for sid, v in acknowledged if sid in {s for s, _ in agent_versions}
                }
                assert mine and mine <= agent_versions


async def run_load(api_a: Api, api_b: Api, b: CallpadProcess) -> set[tuple[str, int]]:
    """Calls with each agent (its host), then renames spread over both processes until process B is
    SIGKILLed mid-load, then the rest through A. Returns the (session, version) pairs the
    API acknowledged."""
    sessions: list[str] = []
    for agent in AGENTS:
        started = await api_a.post(
            CUSTOMER,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": agent}},
        )
        assert started.status_code == 201, started.text
        session = started.json()["session"]
        pid = next(p["id"] for p in session["participants"] if p["user_id"] == agent)
        path = f"/vendors/acme/sessions/{session['id']}/participants/{pid}/accept"
        accepted = await api_b.post(agent, path)
        assert accepted.status_code == 200, accepted.text
        sessions.append(session["id"])

    acknowledged: set[tuple[str, int]] = set()
    b_alive = True
    counter = itertools.count()
    killed = asyncio.Event()

    async def worker() -> None:
        nonlocal b_alive
        while (n := next(counter)) < RENAMES:
            sid, host = sessions[n % len(sessions)], AGENTS[n % len(sessions)]
            api = api_b if b_alive and n % 2 else api_a
            try:
                response = await api.patch(
                    host, f"/vendors/acme/sessions/{sid}", json={"name": f"rename {n}"}
                )
            except httpx.TransportError:
                continue  # process B died under this request: not acknowledged
            assert response.status_code == 200, response.text
            acknowledged.add((sid, response.json()["version"]))
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                b_alive = False
                await b.kill()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    assert killed.is_set() and b.process.returncode is not None
    return acknowledged
