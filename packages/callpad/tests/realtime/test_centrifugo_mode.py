"""Centrifugo mode against the real Centrifugo (docs/centrifugo/config.json on the Redis
engine) with the unmodified centrifuge-python client: grants Centrifugo accepts, every
topic delivered live, recovery after a network drop, refusal of other users' channels,
token expiry and refresh, and a lost publish answer retried without a duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from callpad.db.tables import outbox
from callpad.realtime.channels import agent_channel, user_channel, vendor_feed
from callpad.realtime.outbox import OutboxEvent
from centrifuge import ClientState, ReplyError, SubscriptionState, UnauthorizedError

from testsupport.api import eventually
from testsupport.servers import CentrifugoServer

from .conftest import (
    AGENT,
    CUSTOMER,
    OWNER,
    CentrifugoMode,
    SubscriptionRecorder,
    centrifuge_client,
    centrifugo_mode_server,
)

pytestmark = pytest.mark.slow


async def test_grants_hand_out_centrifugo_and_tokens_it_accepts(
    centrifugo_mode: CentrifugoMode,
) -> None:
    callpad, proxy = centrifugo_mode.callpad, centrifugo_mode.proxy
    assert callpad.ctx.hub is None  # no embedded hub in this mode
    for user, vendor in ((CUSTOMER, None), (AGENT, "acme"), (OWNER, "acme")):
        grant = await callpad.grant(user, vendor)
        assert grant["url"] == proxy.url()
        async with centrifuge_client(grant["url"], grant["token"]) as (client, seen):
            await client.ready()
            await eventually(
                lambda seen=seen, grant=grant: len(seen.subscribed) == len(grant["channels"])
            )
            assert sorted(s.channel for s in seen.subscribed) == sorted(grant["channels"])
            assert all(s.recoverable and s.positioned for s in seen.subscribed)
            # Agents' channels keep presence: who is online, for dispatch.
            if vendor is not None:
                stats = await centrifugo_mode.centrifugo.api(
                    "presence_stats", channel=agent_channel("acme", user)
                )
                assert stats == {"num_clients": 1, "num_users": 1}


async def test_every_topic_reaches_its_readers_live_once_and_in_order(
    centrifugo_mode: CentrifugoMode,
) -> None:
    callpad = centrifugo_mode.callpad
    grants = {
        "customer": await callpad.grant(CUSTOMER),
        "agent": await callpad.grant(AGENT, "acme"),
        "owner": await callpad.grant(OWNER, "acme"),
    }
    async with (
        centrifuge_client(grants["customer"]["url"], grants["customer"]["token"]) as (c, customer),
        centrifuge_client(grants["agent"]["url"], grants["agent"]["token"]) as (a, agent),
        centrifuge_client(grants["owner"]["url"], grants["owner"]["token"]) as (o, owner),
    ):
        for client in (c, a, o):
            await client.ready()
        await eventually(lambda: len(customer.subscribed) + len(agent.subscribed) == 2)
        await eventually(lambda: len(owner.subscribed) == 2)

        def start() -> Any:
            return callpad.api.post(
                CUSTOMER,
                "/vendors/acme/sessions",
                json={"target": {"type": "vendor_user", "user_id": AGENT}},
            )

        # A call the agent rejects (it ends missed), one the agent answers and ends, and
        # the agent's presence on the vendor feed.
        rejected = (await start()).json()["session"]
        pid = rejected["participants"][1]["id"]
        path = f"/vendors/acme/sessions/{rejected['id']}/participants/{pid}"
        assert (await callpad.api.post(AGENT, path + "/reject")).status_code == 200
        answered = (await start()).json()["session"]
        pid = answered["participants"][1]["id"]
        path = f"/vendors/acme/sessions/{answered['id']}/participants/{pid}"
        assert (await callpad.api.post(AGENT, path + "/accept")).status_code == 200
        path = f"/vendors/acme/sessions/{answered['id']}"
        assert (await callpad.api.post(AGENT, path + "/end")).status_code == 200
        presence = await callpad.api.put(
            AGENT, "/vendors/acme/presence/me", json={"status": "away"}
        )
        assert presence.status_code == 200, presence.text

        readers = (
            (customer, user_channel(CUSTOMER)),
            (agent, agent_channel("acme", AGENT)),
            (owner, vendor_feed("acme")),
        )
        for seen, channel in readers:
            expected = await centrifugo_mode.published(channel)
            await eventually(
                lambda seen=seen, channel=channel, expected=expected: (
                    seen.publications.get(channel, []) == expected
                )
            )
            # Each publication once, in commit order, at consecutive stream offsets; and
            # what Centrifugo keeps for recovery is exactly that.
            assert seen.offsets[channel] == list(range(1, len(expected) + 1))
            assert await centrifugo_mode.history(channel) == expected
        assert set(customer.topics(user_channel(CUSTOMER))) == {"session.upsert", "session.remove"}
        # Every member hears every member's presence on their own channel.
        assert set(agent.topics(agent_channel("acme", AGENT))) == {
            "session.upsert",
            "session.remove",
            "session.invite.upsert",
            "session.invite.remove",
            "presence.upsert",
        }
        assert set(owner.topics(vendor_feed("acme"))) == {
            "session.upsert",
            "session.remove",
            "presence.upsert",
        }


def _event(n: int, channel: str) -> OutboxEvent:
    return OutboxEvent("session.upsert", {"session_id": f"s{n}", "version": n}, (channel,))


async def test_a_client_recovers_what_was_published_while_its_network_was_down(
    centrifugo_mode: CentrifugoMode,
) -> None:
    callpad, proxy = centrifugo_mode.callpad, centrifugo_mode.proxy
    grant = await callpad.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    async with centrifuge_client(grant["url"], grant["token"]) as (client, seen):
        await client.ready()
        await callpad.emit(_event(1, channel))
        await eventually(lambda: len(seen.publications.get(channel, [])) == 1)

        proxy.hold()  # reconnect attempts wait at the proxy while events are published
        proxy.drop()
        await eventually(lambda: client.state != ClientState.CONNECTED)
        await callpad.emit(_event(2, channel))
        await callpad.emit(_event(3, channel), _event(4, channel))

        async def published_while_away() -> bool:
            return len(await centrifugo_mode.history(channel)) == 4

        await eventually(published_while_away)
        assert len(seen.publications[channel]) == 1
        proxy.release()

        await eventually(lambda: len(seen.publications.get(channel, [])) >= 4)
        await callpad.emit(_event(5, channel))
        await eventually(lambda: len(seen.publications.get(channel, [])) >= 5)
        assert [p["data"]["version"] for p in seen.publications[channel]] == [1, 2, 3, 4, 5]
        assert seen.offsets[channel] == [1, 2, 3, 4, 5]
        assert seen.subscribed[-1].was_recovering and seen.subscribed[-1].recovered
        assert seen.connected == 2


async def test_a_client_is_refused_channels_that_are_not_its_own(
    centrifugo_mode: CentrifugoMode,
) -> None:
    callpad = centrifugo_mode.callpad
    grant = await callpad.grant(OWNER)  # the owner's customer grant: no vendor feed in it
    async with centrifuge_client(grant["url"], grant["token"]) as (client, _):
        await client.ready()
        # Channels come only from the grant: even the owner's feed needs the vendor grant.
        for channel in (user_channel(AGENT), agent_channel("acme", AGENT), vendor_feed("acme")):
            events = SubscriptionRecorder()
            sub = client.new_subscription(channel, events=events)
            await sub.subscribe()
            await eventually(lambda events=events: events.unsubscribed)
            assert events.unsubscribed[0].code == 103  # permission denied
            assert sub.state == SubscriptionState.UNSUBSCRIBED
            client.remove_subscription(sub)
        assert client.state == ClientState.CONNECTED

    # A token not signed by Callpad's secret: Centrifugo closes with 3500, no reconnect.
    claims = jwt.decode(grant["token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": str(AGENT)}, "not-the-secret-" + "x" * 32)
    async with centrifuge_client(grant["url"], forged) as (client, seen):
        await eventually(lambda: seen.disconnected)
        assert seen.disconnected[0].code == 3500
        assert client.state == ClientState.DISCONNECTED


async def test_tokens_expire_and_clients_refresh_them_through_the_grant_endpoint(
    tmp_path: Path, centrifugo: CentrifugoServer
) -> None:
    # Callpad handing out tokens that live 2 seconds.
    async with centrifugo_mode_server(tmp_path, centrifugo, realtime_token_ttl_s=2) as mode:
        callpad = mode.callpad
        fetched: list[dict[str, Any]] = []

        async def get_token() -> str:
            fetched.append(await callpad.grant(CUSTOMER))
            token: str = fetched[-1]["token"]
            return token

        # Connect with a token that has already expired: Centrifugo answers 109 and the
        # client fetches a fresh grant before connecting.
        stale = await callpad.grant(CUSTOMER)
        claims = jwt.decode(stale["token"], options={"verify_signature": False})
        expired = jwt.encode(
            {**claims, "exp": claims["iat"] - 1}, callpad.settings.realtime_hmac_secret, "HS256"
        )
        channel = user_channel(CUSTOMER)
        async with centrifuge_client(stale["url"], expired, get_token=get_token) as (client, seen):
            await client.ready()
            expiry = seen.errors[0].error
            assert isinstance(expiry, ReplyError) and expiry.code == 109  # token expired
            assert fetched  # the fresh grant it connected with
            # Then it refreshes before each 2-second token runs out, without reconnecting.
            await eventually(lambda: len(fetched) >= 3, within_s=15)
            await callpad.emit(_event(1, channel))
            await eventually(lambda: len(seen.publications.get(channel, [])) == 1)
            assert seen.connected == 1 and not seen.disconnected
            assert client.state == ClientState.CONNECTED

        # A refresh the grant endpoint refuses (the user lost access) ends the connection.
        async def refused() -> str:
            raise UnauthorizedError

        fresh = await callpad.grant(CUSTOMER)
        async with centrifuge_client(fresh["url"], fresh["token"], get_token=refused) as (
            client,
            seen,
        ):
            await client.ready()
            await eventually(lambda: seen.disconnected, within_s=15)
            assert client.state == ClientState.DISCONNECTED


async def test_a_lost_publish_answer_is_retried_and_centrifugo_drops_the_duplicate(
    centrifugo_mode: CentrifugoMode,
) -> None:
    """What a real Centrifugo shows here: the relay published, never heard back, and
    published the same batch again with the same idempotency keys; Centrifugo kept one."""
    callpad, api_proxy = centrifugo_mode.callpad, centrifugo_mode.api_proxy
    grant = await callpad.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    async with centrifuge_client(grant["url"], grant["token"]) as (client, seen):
        await client.ready()
        await eventually(lambda: seen.subscribed)
        api_proxy.lose_replies = True
        await callpad.emit(_event(1, channel), _event(2, channel))

        async def delivered_unmarked() -> bool:
            async with callpad.ctx.db.read() as conn:
                unmarked = await conn.execute(
                    sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
                )
                return (
                    len(await centrifugo_mode.history(channel)) == 2 and unmarked.scalar_one() == 2
                )

        await eventually(delivered_unmarked)
        api_proxy.lose_replies = False

        async def all_marked() -> bool:
            async with callpad.ctx.db.read() as conn:
                unmarked = await conn.execute(
                    sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
                )
                return unmarked.scalar_one() == 0

        await eventually(all_marked)
        await callpad.emit(_event(3, channel))
        await eventually(lambda: len(seen.publications.get(channel, [])) == 3)
        assert [p["data"]["version"] for p in seen.publications[channel]] == [1, 2, 3]
        assert seen.offsets[channel] == [1, 2, 3]
        assert len(await centrifugo_mode.history(channel)) == 3
