"""With the unmodified centrifuge-python client, on the embedded hub and on a real
Centrifugo: an agent whose connection closes is set offline once the grace has passed,
not before, and their colleagues hear it live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from callpad.realtime.channels import agent_channel
from prometheus_client import REGISTRY

from testsupport.api import eventually
from testsupport.servers import CentrifugoServer

from .conftest import (
    AGENT,
    OWNER,
    LiveServer,
    centrifuge_client,
    centrifugo_mode_server,
    live_server,
)

GRACE_S = 1.5


@pytest.fixture(params=["embedded", "centrifugo"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A Callpad whose presence grace is GRACE_S, with `acme` (OWNER, AGENT), on its
    embedded hub or on a real Centrifugo (presence on the `agent` namespace)."""
    if request.param == "embedded":
        async with live_server(tmp_path, presence_offline_grace_s=GRACE_S) as live:
            await live.api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
            yield live
    else:
        real: CentrifugoServer = request.getfixturevalue("centrifugo")
        async with centrifugo_mode_server(tmp_path, real, presence_offline_grace_s=GRACE_S) as mode:
            yield mode.callpad


async def test_an_agent_who_disconnects_is_offline_after_the_grace(server: LiveServer) -> None:
    put = await server.api.put(AGENT, "/vendors/acme/presence/me", json={"status": "available"})
    assert put.status_code == 200, put.text

    async def status() -> str:
        got = await server.api.get(OWNER, "/vendors/acme/presence")
        found: str = next(p["status"] for p in got.json()["presence"] if p["user_id"] == AGENT)
        return found

    async def offline() -> bool:
        return await status() == "offline"

    owner_grant = await server.grant(OWNER, "acme")
    agent_grant = await server.grant(AGENT, "acme")
    async with centrifuge_client(owner_grant["url"], owner_grant["token"]) as (_, owner_seen):
        async with centrifuge_client(agent_grant["url"], agent_grant["token"]) as (agent, _):
            await agent.ready()
            # Connected for several grace periods: the agent stays available.
            await asyncio.sleep(3 * GRACE_S)
            assert await status() == "available"
        # centrifuge_client disconnected the agent's only connection.
        gone_at = asyncio.get_running_loop().time()
        await asyncio.sleep(GRACE_S / 2)
        assert await status() == "available", "not before the grace has passed"
        await eventually(offline)
        assert asyncio.get_running_loop().time() - gone_at >= GRACE_S

        channel = agent_channel("acme", OWNER)
        await eventually(
            lambda: any(
                p["topic"] == "presence.upsert"
                and p["data"]["user_id"] == AGENT
                and p["data"]["status"] == "offline"
                for p in owner_seen.publications.get(channel, [])
            )
        )


def presence_passes() -> float:
    """How many passes the presence loop has made (this test's server runs in-process)."""
    sample = REGISTRY.get_sample_value("callpad_background_passes_total", {"loop": "presence"})
    return sample or 0.0


async def test_presence_is_watched_only_while_someone_could_be_gone(tmp_path: Path) -> None:
    """An idle server does not wake for presence: its heartbeat runs while a user is
    connected, and once the last one has left, a timer at the end of their grace sets them
    offline; then the loop rests again. (Safety polls at an hour.)"""
    hour = 3600.0
    async with live_server(
        tmp_path,
        presence_offline_grace_s=GRACE_S,
        timer_poll_interval_s=hour,
        realtime_relay_poll_interval_s=hour,
    ) as server:
        await server.api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
        await asyncio.sleep(GRACE_S)  # start-up's passes are over
        idle_from = presence_passes()
        await asyncio.sleep(GRACE_S)  # four heartbeats' time
        assert presence_passes() == idle_from, "no passes while nobody is connected"

        put = await server.api.put(AGENT, "/vendors/acme/presence/me", json={"status": "available"})
        assert put.status_code == 200, put.text
        grant = await server.grant(AGENT, "acme")
        async with centrifuge_client(grant["url"], grant["token"]) as (agent, _):
            await agent.ready()
            connected_from = presence_passes()
            await eventually(lambda: presence_passes() >= connected_from + 3)  # heartbeats
        gone_at = asyncio.get_running_loop().time()

        async def offline() -> bool:
            got = await server.api.get(OWNER, "/vendors/acme/presence")
            return any(
                p["user_id"] == AGENT and p["status"] == "offline" for p in got.json()["presence"]
            )

        await eventually(offline)
        assert asyncio.get_running_loop().time() - gone_at >= GRACE_S
        rested_from = presence_passes()
        await asyncio.sleep(GRACE_S)
        assert presence_passes() == rested_from, "no passes once everyone is offline"
