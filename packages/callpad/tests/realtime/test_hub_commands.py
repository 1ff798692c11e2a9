"""Every branch of the hub's command table over a raw WebSocket, against a real server:
token refresh (including another user's token), malformed frames and commands, history,
presence and subscription errors."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import websockets
from callpad.realtime.channels import agent_channel, user_channel
from callpad.realtime.outbox import OutboxEvent
from callpad.realtime.tokens import mint_connection_token

from testsupport.api import eventually

from .conftest import AGENT, CUSTOMER, STRANGER, LiveServer


async def send(ws: Any, *commands: dict[str, Any] | str) -> None:
    await ws.send("\n".join(c if isinstance(c, str) else json.dumps(c) for c in commands))


async def replies(ws: Any, count: int) -> list[dict[str, Any]]:
    """The next `count` replies (messages with an id); pings and pushes are skipped."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        for line in (await ws.recv()).split("\n"):
            message = json.loads(line)
            if message.get("id"):
                found.append(message)
    return found


async def closed_with(ws: Any) -> tuple[int | None, str | None]:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await ws.recv()
    return ws.close_code, ws.close_reason


def token(
    server: LiveServer, user: int, ttl_s: int = 600, channels: list[str] | None = None
) -> str:
    secret = server.settings.realtime_hmac_secret
    chosen = [user_channel(user)] if channels is None else channels
    return mint_connection_token(secret, user, chosen, ttl_s)[0]


async def connected(server: LiveServer, ws: Any, user: int = CUSTOMER) -> dict[str, Any]:
    await send(ws, {"id": 1, "connect": {"token": token(server, user)}})
    (reply,) = await replies(ws, 1)
    assert "connect" in reply, reply
    return reply


async def test_refresh_with_a_new_token_of_the_same_user_extends_the_connection(
    server: LiveServer,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        first = (await connected(server, ws))["connect"]
        await send(ws, {"id": 2, "refresh": {"token": token(server, CUSTOMER, ttl_s=7200)}})
        (reply,) = await replies(ws, 1)
        assert reply["refresh"]["client"] == first["client"]
        assert reply["refresh"]["expires"] is True
        assert 3600 < reply["refresh"]["ttl"] <= 7200
        await send(ws, {"id": 3, "history": {"channel": user_channel(CUSTOMER), "limit": 0}})
        assert "history" in (await replies(ws, 1))[0]  # still connected


async def test_refresh_with_an_expired_token_answers_109_and_keeps_the_connection(
    server: LiveServer,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await send(ws, {"id": 2, "refresh": {"token": token(server, CUSTOMER, ttl_s=-60)}})
        (reply,) = await replies(ws, 1)
        assert reply["error"]["code"] == 109
        await send(ws, {"id": 3, "history": {"channel": user_channel(CUSTOMER), "limit": 0}})
        assert "history" in (await replies(ws, 1))[0]


@pytest.mark.parametrize("case", ["another user", "bad signature"])
async def test_refresh_with_a_token_of_another_user_or_a_bad_one_closes_with_3500(
    server: LiveServer, case: str
) -> None:
    refresh = token(server, STRANGER) if case == "another user" else "not.a.token"
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await send(ws, {"id": 2, "refresh": {"token": refresh}})
        assert await closed_with(ws) == (3500, "invalid token")
    await eventually(lambda: not server.hub.is_connected(CUSTOMER))


MALFORMED: dict[str, list[dict[str, Any] | str]] = {
    "not json": ["{nope"],
    "a JSON array": ["[1, 2]"],
    "a method without an id": [{"subscribe": {"channel": "user:#7"}}],
    "a negative id": [{"id": -1, "history": {"channel": "user:#7"}}],
    "a string id": [{"id": "1", "history": {"channel": "user:#7"}}],
    "params that are not an object": [{"id": 2, "history": [1]}],
    "a second connect": [{"id": 2, "connect": {}}],
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_a_malformed_command_closes_with_3501_bad_request(
    server: LiveServer, name: str
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await send(ws, *MALFORMED[name])
        assert await closed_with(ws) == (3501, "bad request")


@pytest.mark.parametrize("case", ["a command before connect", "subs that are not an object"])
async def test_before_connect_only_a_well_formed_connect_is_accepted(
    server: LiveServer, case: str
) -> None:
    first: dict[str, Any] = {"id": 1, "subscribe": {"channel": user_channel(CUSTOMER)}}
    if case == "subs that are not an object":
        first = {"id": 1, "connect": {"token": token(server, CUSTOMER), "subs": "all"}}
    async with websockets.connect(server.ws_url) as ws:
        await send(ws, first)
        assert await closed_with(ws) == (3501, "bad request")


async def test_an_unknown_method_answers_104_and_the_connection_stays(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await send(ws, {"id": 2, "teleport": {}}, {"id": 3, "sub_refresh": {"channel": "x"}})
        unknown, not_subscribed = await replies(ws, 2)
        assert unknown == {"id": 2, "error": {"code": 104, "message": "method not found"}}
        assert not_subscribed["error"]["code"] == 103


async def test_history_branches(server: LiveServer) -> None:
    channel = user_channel(CUSTOMER)
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        for n in (1, 2, 3):
            await server.emit(OutboxEvent("session.upsert", {"version": n}, (channel,)))
        await eventually(lambda: server.hub.position(channel).offset == 3)
        epoch = server.hub.position(channel).epoch
        await send(
            ws,
            {"id": 2, "history": {"channel": channel, "limit": -1}},
            {"id": 3, "history": {"channel": channel, "limit": 1, "reverse": True}},
            {
                "id": 4,
                "history": {
                    "channel": channel,
                    "limit": -1,
                    "since": {"epoch": epoch, "offset": 2},
                },
            },
            {"id": 5, "history": {"channel": channel, "since": {"epoch": "stale", "offset": 1}}},
            {"id": 6, "history": {"channel": user_channel(STRANGER), "limit": -1}},
            {"id": 7, "history": {"limit": -1}},
        )
        every, newest, since, stale, foreign, unnamed = await replies(ws, 6)
        assert [p["data"]["data"]["version"] for p in every["history"]["publications"]] == [1, 2, 3]
        assert every["history"] == {**every["history"], "epoch": epoch, "offset": 3}
        assert [p["offset"] for p in newest["history"]["publications"]] == [3]
        assert [p["offset"] for p in since["history"]["publications"]] == [3]
        assert stale["error"]["code"] == 112
        assert foreign["error"]["code"] == unnamed["error"]["code"] == 103


async def test_subscribe_presence_and_unsubscribe(server: LiveServer) -> None:
    own = user_channel(CUSTOMER)
    async with websockets.connect(server.ws_url) as ws:
        connect = (await connected(server, ws))["connect"]
        await send(
            ws,
            {"id": 2, "presence": {"channel": own}},
            {"id": 3, "presence_stats": {"channel": own}},
            {"id": 4, "subscribe": {"channel": own}},
            {"id": 5, "subscribe": {"channel": user_channel(STRANGER)}},
            {"id": 6, "subscribe": {"channel": agent_channel("acme", AGENT)}},
            {"id": 7, "subscribe": {}},
            {"id": 8, "unsubscribe": {"channel": own}},
            {"id": 9, "presence": {"channel": own}},
        )
        presence, stats, twice, foreign, other_agent, unnamed, left, gone = await replies(ws, 8)
        client = connect["client"]
        assert presence["presence"] == {"presence": {client: {"client": client, "user": "7"}}}
        assert stats["presence_stats"] == {"num_clients": 1, "num_users": 1}
        assert twice["error"]["code"] == 105
        assert foreign["error"]["code"] == other_agent["error"]["code"] == 103
        assert unnamed["error"]["code"] == 107
        assert left == {"id": 8, "unsubscribe": {}}
        assert gone["error"]["code"] == 103
        assert server.hub.subscribers(own) == 0


async def test_a_transactions_events_reach_a_connection_as_one_message(
    server: LiveServer,
) -> None:
    own = user_channel(CUSTOMER)
    async with websockets.connect(server.ws_url) as ws:
        await send(ws, {"id": 1, "connect": {"token": token(server, CUSTOMER)}})
        await replies(ws, 1)
        await send(ws, {"id": 2, "subscribe": {"channel": own}})
        await replies(ws, 1)
        await server.emit(
            OutboxEvent("test.first", {"n": 1}, (own,)),
            OutboxEvent("test.second", {"n": 2}, (own, agent_channel("acme", AGENT))),
        )
        message = await ws.recv()
        assert isinstance(message, str)
        pushes = [json.loads(line)["push"] for line in message.split("\n")]
        assert [p["channel"] for p in pushes] == [own, own]
        assert [p["pub"]["data"]["topic"] for p in pushes] == ["test.first", "test.second"]
        assert [p["pub"]["offset"] for p in pushes] == [1, 2]
