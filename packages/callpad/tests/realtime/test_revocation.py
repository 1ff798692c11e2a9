"""A vendor membership change takes the user's vendor channels away at once: in the
embedded hub of every process (through the outbox) and in Centrifugo mode (through its
server API), not when the grant's token expires an hour later."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import websockets
from callpad.realtime.channels import agent_channel, user_channel, vendor_feed
from callpad.realtime.outbox import OutboxEvent
from callpad.realtime.revocations import REVOKE_TOPIC, revocation
from centrifuge import Client, UnauthorizedError

from testsupport.api import eventually

from .conftest import OWNER, CentrifugoMode, LiveServer, Recorder, centrifuge_client, live_server
from .test_hub_commands import replies, send

FEED, OWN = vendor_feed("acme"), agent_channel("acme", OWNER)


def test_a_revocation_names_only_the_channels_lost() -> None:
    demoted = revocation(OWNER, [OWN, FEED], [OWN])
    assert demoted == OutboxEvent(REVOKE_TOPIC, {"user": str(OWNER)}, (FEED,))
    removed = revocation(OWNER, [OWN, FEED], [])
    assert removed is not None and removed.channels == (OWN, FEED)
    assert revocation(OWNER, [OWN], [OWN, FEED]) is None  # promoted: nothing lost


def grant_source(server: LiveServer, user_id: int) -> Callable[[], Awaitable[str]]:
    """A client's get_token: a new vendor grant, or unauthorized once it is refused."""

    async def get_token() -> str:
        response = await server.api.get(user_id, "/vendors/acme/realtime/grant")
        if response.status_code != 200:
            raise UnauthorizedError
        return str(response.json()["token"])

    return get_token


@asynccontextmanager
async def owner_reading_the_feed(
    server: LiveServer, url: str
) -> AsyncIterator[tuple[Client, Recorder, dict[str, Any]]]:
    grant = await server.grant(OWNER, "acme")
    assert set(grant["channels"]) == {OWN, FEED}
    get_token = grant_source(server, OWNER)
    async with centrifuge_client(url, grant["token"], get_token) as (client, seen):
        await client.ready()
        await eventually(lambda: {s.channel for s in seen.subscribed} == {OWN, FEED})
        yield client, seen, grant


async def set_role(server: LiveServer, role: str | None) -> None:
    path = f"/admin/vendors/acme/members/{OWNER}"
    if role is None:
        response = await server.api.delete(None, path)
    else:
        response = await server.api.put(None, path, json={"role": role})
    assert response.status_code in (200, 204), response.text


async def only_own_channel_delivered(server: LiveServer, seen: Recorder) -> None:
    """Publish to the feed, then to the owner's channel: one connection receives a
    server's frames in order, so once the second arrived the first would have too."""
    await server.emit(OutboxEvent("test.feed", {}, (FEED,)))
    await server.emit(OutboxEvent("test.own", {}, (OWN,)))
    await eventually(lambda: "test.own" in seen.topics(OWN))
    assert "test.feed" not in seen.topics(FEED)


async def test_a_demoted_owner_loses_the_feed_at_once_and_keeps_their_channel(
    server: LiveServer,
) -> None:
    async with owner_reading_the_feed(server, server.ws_url) as (client, seen, _grant):
        await set_role(server, "agent")
        await eventually(lambda: any(c.code == 3014 for c in seen.connecting))
        await client.ready()  # back, with a new grant: the owner's channel only
        await eventually(lambda: server.hub.subscribers(OWN) == 1)
        assert not server.hub.subscribers(FEED)
        await only_own_channel_delivered(server, seen)


async def test_a_removed_member_is_cut_off_and_their_old_token_refused(
    server: LiveServer,
) -> None:
    customer = await server.grant(OWNER)  # the same user as a customer is not affected
    async with (
        owner_reading_the_feed(server, server.ws_url) as (_client, seen, grant),
        centrifuge_client(server.ws_url, customer["token"]) as (as_customer, _),
    ):
        await as_customer.ready()
        await set_role(server, None)
        await eventually(lambda: any(c.code == 3014 for c in seen.connecting))
        await eventually(
            lambda: not server.hub.subscribers(FEED) and not server.hub.subscribers(OWN)
        )
        assert server.hub.subscribers(user_channel(OWNER)) == 1
        # A client that kept the old token gets 109, so it must ask for a new grant.
        async with websockets.connect(server.ws_url) as ws:
            await send(ws, {"id": 1, "connect": {"token": grant["token"]}})
            assert (await replies(ws, 1))[0]["error"]["code"] == 109
        assert (await server.api.get(OWNER, "/vendors/acme/realtime/grant")).status_code == 403


async def test_the_revocation_reaches_the_hub_of_every_process(
    server: LiveServer, tmp_path: Path
) -> None:
    # A second server process on the same database: its own hub, its own relay.
    async with (
        live_server(tmp_path) as other,
        owner_reading_the_feed(other, other.ws_url) as (client, seen, _grant),
    ):
        await set_role(server, "agent")  # changed through the first process
        await eventually(lambda: any(c.code == 3014 for c in seen.connecting))
        await client.ready()
        await eventually(lambda: other.hub.subscribers(OWN) == 1)
        assert not other.hub.subscribers(FEED)
        await only_own_channel_delivered(other, seen)


@pytest.mark.slow
async def test_centrifugo_mode_disconnects_the_user_at_once(
    centrifugo_mode: CentrifugoMode,
) -> None:
    callpad = centrifugo_mode.callpad
    grant = await callpad.grant(OWNER, "acme")
    async with owner_reading_the_feed(callpad, grant["url"]) as (client, seen, _grant):
        await set_role(callpad, "agent")
        await eventually(lambda: any(c.code == 3014 for c in seen.connecting))
        await client.ready()
        await eventually(lambda: seen.connected == 2)
        await only_own_channel_delivered(callpad, seen)
        await set_role(callpad, None)
        await eventually(lambda: len([c for c in seen.connecting if c.code == 3014]) == 2)
        await eventually(lambda: bool(seen.disconnected))  # the grant is refused: it stops
        stats = await centrifugo_mode.centrifugo.api("presence_stats", channel=OWN)
        assert stats.get("num_clients", 0) == 0
