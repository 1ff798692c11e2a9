"""The unmodified centrifuge-python client against the embedded hub, through API grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt
from callpad.realtime.channels import agent_channel, user_channel, vendor_feed
from callpad.realtime.outbox import OutboxEvent
from centrifuge import ClientState, SubscriptionState

from testsupport.api import eventually
from testsupport.proxy import TcpProxy

from .conftest import (
    AGENT,
    CUSTOMER,
    OWNER,
    STRANGER,
    LiveServer,
    SubscriptionRecorder,
    centrifuge_client,
)


async def test_grants_name_only_the_callers_channels(server: LiveServer) -> None:
    customer = await server.grant(CUSTOMER)
    assert customer["channels"] == [user_channel(CUSTOMER)]
    assert customer["url"] == server.ws_url
    claims = jwt.decode(
        customer["token"], server.settings.realtime_hmac_secret, algorithms=["HS256"]
    )
    assert claims["sub"] == str(CUSTOMER)
    assert claims["channels"] == customer["channels"]
    assert claims["exp"] == int(datetime.fromisoformat(customer["expires_at"]).timestamp())

    agent = await server.grant(AGENT, "acme")
    assert agent["channels"] == [agent_channel("acme", AGENT)]
    owner = await server.grant(OWNER, "acme")
    assert owner["channels"] == [agent_channel("acme", OWNER), vendor_feed("acme")]

    stranger = await server.api.get(STRANGER, "/vendors/acme/realtime/grant")
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "forbidden"
    missing = await server.api.get(AGENT, "/vendors/nope/realtime/grant")
    assert missing.status_code == 404
    assert missing.json()["code"] == "vendor_not_found"
    anonymous = await server.api.client.get("/api/v1/realtime/grant")
    assert anonymous.status_code == 401


async def test_agent_receives_the_session_and_invite_when_a_customer_calls(
    server: LiveServer,
) -> None:
    agent_grant = await server.grant(AGENT, "acme")
    customer_grant = await server.grant(CUSTOMER)
    async with (
        centrifuge_client(agent_grant["url"], agent_grant["token"]) as (agent, agent_seen),
        centrifuge_client(customer_grant["url"], customer_grant["token"]) as (_, customer_seen),
    ):
        await agent.ready()
        await eventually(lambda: len(agent_seen.subscribed) == len(customer_seen.subscribed) == 1)
        assert agent_seen.subscribed[0].channel == agent_channel("acme", AGENT)
        assert agent_seen.subscribed[0].recoverable

        started = await server.api.post(
            CUSTOMER,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": AGENT}, "name": "Billing"},
        )
        assert started.status_code == 201, started.text
        session = started.json()["session"]

        channel = agent_channel("acme", AGENT)
        await eventually(
            lambda: {"session.upsert", "session.invite.upsert"} <= set(agent_seen.topics(channel))
        )
        upsert = next(p for p in agent_seen.publications[channel] if p["topic"] == "session.upsert")
        assert upsert["data"]["id"] == session["id"]
        assert upsert["data"]["version"] == session["version"]
        invite = next(
            p for p in agent_seen.publications[channel] if p["topic"] == "session.invite.upsert"
        )
        assert invite["data"]["session_id"] == session["id"]
        await eventually(lambda: "session.upsert" in customer_seen.topics(user_channel(CUSTOMER)))
        assert agent_seen.offsets[channel] == list(range(1, len(agent_seen.offsets[channel]) + 1))
        assert server.hub.is_connected(AGENT)
        assert server.hub.subscribers(agent_channel("acme", AGENT)) == 1


def _event(n: int, channel: str) -> OutboxEvent:
    return OutboxEvent("session.upsert", {"session_id": f"s{n}", "version": n}, (channel,))


async def _recovery_after(server: LiveServer, break_connection: Any) -> None:
    grant = await server.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    port = int(server.base_url.rsplit(":", 1)[1])
    async with (
        TcpProxy(port) as proxy,
        centrifuge_client(proxy.url(), grant["token"]) as (client, seen),
    ):
        await client.ready()
        await server.emit(_event(1, channel))
        await eventually(lambda: len(seen.publications.get(channel, [])) == 1)

        proxy.hold()  # reconnect attempts wait at the proxy while events are published
        break_connection(server, proxy)
        await eventually(lambda: server.hub.subscribers(channel) == 0)
        await server.emit(_event(2, channel))
        await server.emit(_event(3, channel), _event(4, channel))
        await eventually(lambda: server.hub.position(channel).offset == 4)
        assert len(seen.publications[channel]) == 1
        proxy.release()

        await eventually(lambda: len(seen.publications.get(channel, [])) >= 4)
        await server.emit(_event(5, channel))
        await eventually(lambda: len(seen.publications.get(channel, [])) >= 5)
        versions = [p["data"]["version"] for p in seen.publications[channel]]
        assert versions == [1, 2, 3, 4, 5]  # in order, none lost, none twice
        assert seen.offsets[channel] == [1, 2, 3, 4, 5]
        resubscribed = seen.subscribed[-1]
        assert resubscribed.was_recovering
        assert resubscribed.recovered
        assert client.state == ClientState.CONNECTED


async def test_server_closes_with_a_reconnect_code_and_the_client_recovers(
    server: LiveServer,
) -> None:
    await _recovery_after(server, lambda s, _proxy: s.hub.disconnect(CUSTOMER))


async def test_network_drop_and_the_client_recovers(server: LiveServer) -> None:
    await _recovery_after(server, lambda _s, proxy: proxy.drop())


async def test_history_presence_and_stats(server: LiveServer) -> None:
    grant = await server.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    await server.emit(_event(1, channel), _event(2, channel))
    await eventually(lambda: server.hub.position(channel).offset == 2)
    async with centrifuge_client(grant["url"], grant["token"]) as (client, _):
        await client.ready()
        history = await client.history(channel, limit=-1)
        assert [p.data["data"]["version"] for p in history.publications] == [1, 2]
        assert [p.offset for p in history.publications] == [1, 2]
        assert history.offset == 2
        assert history.epoch == server.hub.position(channel).epoch
        top = await client.history(channel, limit=0)
        assert top.publications == [] and top.offset == 2
        presence = await client.presence(channel)
        assert [c.user for c in presence.clients.values()] == [str(CUSTOMER)]
        stats = await client.presence_stats(channel)
        assert (stats.num_clients, stats.num_users) == (1, 1)


async def test_subscribing_to_another_users_channel_gets_103(server: LiveServer) -> None:
    grant = await server.grant(CUSTOMER)
    async with centrifuge_client(grant["url"], grant["token"]) as (client, _):
        await client.ready()
        for channel in (user_channel(AGENT), agent_channel("acme", AGENT), vendor_feed("acme")):
            events = SubscriptionRecorder()
            sub = client.new_subscription(channel, events=events)
            await sub.subscribe()
            await eventually(lambda events=events: events.unsubscribed)
            assert events.unsubscribed[0].code == 103
            assert sub.state == SubscriptionState.UNSUBSCRIBED
            client.remove_subscription(sub)


async def test_an_owner_may_subscribe_to_the_vendor_feed(server: LiveServer) -> None:
    grant = await server.grant(OWNER)  # the customer grant: no feed in the token
    async with centrifuge_client(grant["url"], grant["token"]) as (client, _):
        await client.ready()
        sub = client.new_subscription(vendor_feed("acme"))
        await sub.subscribe()
        await sub.ready()
        assert server.hub.subscribers(vendor_feed("acme")) == 1
        feed = OutboxEvent("presence.upsert", {"user_id": AGENT}, (vendor_feed("acme"),))
        await server.emit(feed)
        await eventually(lambda: server.hub.position(vendor_feed("acme")).offset == 1)
        history = await sub.history(limit=-1)
        assert [p.data for p in history.publications] == [
            {"topic": "presence.upsert", "data": {"user_id": AGENT}}
        ]


async def test_a_bad_token_closes_with_3500(server: LiveServer) -> None:
    grant = await server.grant(CUSTOMER)
    claims = jwt.decode(grant["token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-hub-secret-" + "x" * 32)
    async with centrifuge_client(grant["url"], forged) as (client, seen):
        await eventually(lambda: seen.disconnected)
        assert seen.disconnected[0].code == 3500
        assert client.state == ClientState.DISCONNECTED
