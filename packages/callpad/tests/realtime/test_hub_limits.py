"""What a peer may send the hub (issue: one unauthenticated socket could stall the server
with a 16 MiB message of `{}` lines). Before `connect`: little, and only `connect`. After:
messages of a bounded size and number of commands, handled with a yield between commands.
Hostile JSON (deep nesting, ids past 64 bits) closes with 3501 and logs no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

import pytest
import websockets
from callpad.realtime.channels import user_channel
from callpad.realtime.hub import Hub, HubConfig
from callpad.realtime.hub.connection import Connection
from callpad.realtime.tokens import mint_connection_token
from starlette.websockets import WebSocket

from testsupport.api import eventually

from .conftest import CUSTOMER, LiveServer
from .test_hub_commands import closed_with, connected, replies, send

LIMITS = HubConfig(secret="")


def history(command_id: int, padding: int = 0) -> str:
    command = {"id": command_id, "history": {"channel": user_channel(CUSTOMER), "limit": 0}}
    return json.dumps(command) + " " * padding


async def still_serving(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)


async def refused_as_too_big(ws: Any) -> None:
    """The close frame says 1009 (the server then holds the socket unread a while)."""
    await eventually(lambda: ws.protocol.close_rcvd is not None)
    assert ws.protocol.close_rcvd.code == 1009


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_before_connect_a_large_message_is_refused_unread(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url, max_size=None, close_timeout=0.2) as ws:
        await ws.send("{}\n" * (LIMITS.connect_max_bytes // 3 + 1))
        await refused_as_too_big(ws)
    await still_serving(server)


async def test_before_connect_a_pong_or_any_other_command_closes_with_3501(
    server: LiveServer,
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await ws.send("{}\n{}")
        assert await closed_with(ws) == (3501, "bad request")


async def test_before_connect_the_bytes_sent_are_bounded_across_messages(
    server: LiveServer,
) -> None:
    blank = " " * (LIMITS.connect_max_bytes // 4)  # blank lines: no command at all
    async with websockets.connect(server.ws_url) as ws:
        for _ in range(4):
            await ws.send(blank)
        await ws.send(blank)
        assert await closed_with(ws) == (3501, "bad request")


async def test_after_connect_messages_are_bounded_in_size(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url, close_timeout=0.2) as ws:
        await connected(server, ws)
        await ws.send(history(2, padding=LIMITS.message_max_bytes - 200))
        assert (await replies(ws, 1))[0]["id"] == 2  # under the bound: served
        await ws.send(history(3, padding=LIMITS.message_max_bytes))
        await refused_as_too_big(ws)


async def test_after_connect_messages_are_bounded_in_commands(server: LiveServer) -> None:
    most = LIMITS.max_commands_per_message
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await ws.send("\n".join(history(n) for n in range(2, most + 2)) + "\n")
        answered = await replies(ws, most)
        assert [r["id"] for r in answered] == list(range(2, most + 2))
        await ws.send("\n".join(history(n) for n in range(most + 1)))
        assert await closed_with(ws) == (3501, "bad request")


@pytest.mark.parametrize(
    "message",
    [
        '{"id":1,"connect":' + "[" * 5000 + "]" * 5000 + "}",
        '{"id":1,"connect":{"token":' + "[" * 1000 + "]" * 1000 + "}}",
        '{"id":18446744073709551616,"connect":{}}',
        '{"id":4294967296,"connect":{}}',
        '{"id":1.5,"connect":{}}',
        '{"id":true,"connect":{}}',
        '{"id":NaN,"connect":{}}',
    ],
    ids=[
        "nesting past 1024",
        "a nested token",
        "an id of 2^64",
        "an id past uint32",
        "a fractional id",
        "a boolean id",
        "NaN",
    ],
)
async def test_hostile_json_closes_with_3501_and_logs_no_traceback(
    server: LiveServer, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(message)
        assert await closed_with(ws) == (3501, "bad request")
    assert tracebacks(caplog) == []
    await still_serving(server)


async def test_hostile_json_after_connect_closes_with_3501(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await connected(server, ws)
        await send(ws, '{"id":2,"history":' + "[" * 2000 + "]" * 2000 + "}")
        assert await closed_with(ws) == (3501, "bad request")


class _Socket:
    """Enough of a WebSocket for a connection that writes into a list."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"extensions": {}}
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.sent.append(f"close {code}")


async def test_the_hub_yields_to_other_tasks_between_the_commands_of_a_message() -> None:
    secret = "a-test-secret-of-at-least-32-bytes!"
    hub = Hub(HubConfig(secret=secret))
    connection = Connection(
        cast(WebSocket, _Socket()),  # enough of one: connections only send and close
        queue_max_bytes=1 << 20,
        on_close=lambda _c: None,
        now=0.0,
    )
    token, _ = mint_connection_token(secret, CUSTOMER, [user_channel(CUSTOMER)], 60)
    await hub._handle_message(
        connection, {"text": json.dumps({"id": 1, "connect": {"token": token}})}
    )
    assert connection.connected
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    before = turns
    await hub._handle_message(connection, {"text": "\n".join(history(n) for n in range(2, 52))})
    other.cancel()
    assert turns - before >= 49  # a turn between every two of the 50 commands
