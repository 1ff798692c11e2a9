"""Protocol edges of the hub: framing, handshake, token expiry and refresh, pings, slow
consumers. centrifuge-python where it can show the behaviour, a raw WebSocket where the
test must misbehave (never answer pings, stop reading)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from callpad.realtime.channels import user_channel
from callpad.realtime.outbox import OutboxEvent
from callpad.realtime.tokens import mint_connection_token
from centrifuge import ClientState
from websockets.typing import Subprotocol

from testsupport.api import eventually

from .conftest import CUSTOMER, LiveServer, centrifuge_client, live_server


async def _raw_commands(ws: Any, *commands: dict[str, Any]) -> None:
    await ws.send("\n".join(json.dumps(c) for c in commands))


async def _replies(ws: Any, count: int) -> list[dict[str, Any]]:
    """Read frames until `count` replies (messages with an id) arrived; pings are skipped."""
    replies: list[dict[str, Any]] = []
    while len(replies) < count:
        frame = await ws.recv()
        for line in frame.split("\n"):
            message = json.loads(line)
            if message.get("id"):
                replies.append(message)
    return replies


async def test_several_commands_in_one_frame_and_an_empty_subprotocol_header(
    server: LiveServer,
) -> None:
    grant = await server.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    # Older centrifuge-python sends an empty Sec-WebSocket-Protocol header.
    async with websockets.connect(
        server.ws_url, additional_headers={"Sec-WebSocket-Protocol": ""}
    ) as ws:
        await _raw_commands(
            ws,
            {"id": 1, "connect": {"token": grant["token"], "name": "raw"}},
            {"id": 2, "history": {"channel": channel, "limit": 0}, "flag": 1},
            {"id": 3, "publish": {"channel": channel, "data": {"x": 1}}},
            {"id": 4, "rpc": {"method": "anything"}},
        )
        connect, history, publish, rpc = await _replies(ws, 4)
        assert connect["id"] == 1
        assert connect["connect"]["client"]
        assert connect["connect"]["pong"] is True
        assert connect["connect"]["subs"][channel]["recoverable"] is True
        assert connect["connect"]["expires"] is True
        assert history == {"id": 2, "history": {"epoch": server.hub.position(channel).epoch}}
        assert publish["error"]["code"] == rpc["error"]["code"] == 103


async def test_the_protobuf_subprotocol_is_refused(server: LiveServer) -> None:
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(
            server.ws_url, subprotocols=[Subprotocol("centrifuge-protobuf")]
        ):
            pass  # pragma: no cover


@pytest.fixture
async def short_tokens(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(
        tmp_path, realtime_token_ttl_s=2, realtime_expired_close_delay_s=5.0
    ) as live:
        yield live


async def test_an_expiring_token_is_refreshed_through_get_token(short_tokens: LiveServer) -> None:
    server = short_tokens
    calls = 0

    async def get_token() -> str:
        nonlocal calls
        calls += 1
        return str((await server.grant(CUSTOMER))["token"])

    # The first token has already expired: the hub answers 109 and the client asks again.
    expired, _ = mint_connection_token(
        server.settings.realtime_hmac_secret, CUSTOMER, [user_channel(CUSTOMER)], ttl_s=-60
    )
    async with centrifuge_client(server.ws_url, expired, get_token) as (client, seen):
        await client.ready()
        assert [e.error.code for e in seen.errors if hasattr(e.error, "code")][:1] == [109]
        # Then each 2 s token is refreshed on the open connection before the hub's grace ends.
        await eventually(lambda: calls >= 3)
        await server.emit(OutboxEvent("session.upsert", {"version": 1}, (user_channel(CUSTOMER),)))
        await eventually(lambda: seen.publications.get(user_channel(CUSTOMER)))
        assert client.state == ClientState.CONNECTED
        assert seen.connected == 1  # refreshed in place, never reconnected
        assert not seen.disconnected and not seen.connecting[1:]


async def test_a_connection_whose_token_expires_unrefreshed_is_closed_with_3005(
    tmp_path: Path,
) -> None:
    # `iat` is whole seconds, so a 1 s token may have 0.1 s left when minted: 3 s leaves a
    # loaded machine at least 2 s to connect with it.
    async with live_server(
        tmp_path, realtime_token_ttl_s=3, realtime_expired_close_delay_s=0.1
    ) as server:
        grant = await server.grant(CUSTOMER)
        async with centrifuge_client(server.ws_url, grant["token"]) as (client, seen):
            await client.ready()
            await eventually(lambda: any(c.code == 3005 for c in seen.connecting))


async def test_no_pong_closes_with_3012(tmp_path: Path) -> None:
    async with live_server(
        tmp_path, realtime_ping_interval_s=0.2, realtime_pong_timeout_s=0.2
    ) as server:
        grant = await server.grant(CUSTOMER)
        async with websockets.connect(server.ws_url) as ws:
            await _raw_commands(ws, {"id": 1, "connect": {"token": grant["token"]}})
            frames = []
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    frames.append(await ws.recv())  # never answers the `{}` pings
            assert ws.close_code == 3012
            assert "{}" in frames


async def test_a_client_that_answers_pings_stays_connected(tmp_path: Path) -> None:
    async with live_server(
        tmp_path, realtime_ping_interval_s=0.2, realtime_pong_timeout_s=0.2
    ) as server:
        grant = await server.grant(CUSTOMER)
        async with centrifuge_client(server.ws_url, grant["token"], max_server_ping_delay=1.0) as (
            client,
            seen,
        ):
            await client.ready()
            pings = 0
            async with websockets.connect(server.ws_url) as ws:
                # A second, raw connection counts the pings that pass meanwhile.
                await _raw_commands(ws, {"id": 1, "connect": {"token": grant["token"]}})
                while pings < 5:
                    for line in (await ws.recv(decode=True)).split("\n"):
                        if line == "{}":
                            pings += 1
                            await ws.send("{}")
            assert client.state == ClientState.CONNECTED
            assert seen.connected == 1 and not seen.connecting[1:]


async def test_a_slow_consumer_is_closed_with_3008(tmp_path: Path) -> None:
    async with live_server(tmp_path, realtime_client_queue_max_bytes=64 * 1024) as server:
        grant = await server.grant(CUSTOMER)
        channel = user_channel(CUSTOMER)
        # A small receive buffer (no autotuning), so the kernel holds little for the client.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.setblocking(False)
        port = int(server.base_url.rsplit(":", 1)[1])
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        async with websockets.connect(server.ws_url, sock=sock, max_queue=1, max_size=None) as ws:
            await _raw_commands(ws, {"id": 1, "connect": {"token": grant["token"]}})
            await _replies(ws, 1)
            # The client stops reading; the hub keeps publishing to it.
            published = 0
            while server.hub.is_connected(CUSTOMER):
                # Incompressible, in case permessage-deflate was negotiated.
                server.hub.publish(channel, {"blob": base64.b64encode(os.urandom(12288)).decode()})
                published += 1
                assert published < 20_000, "the queue bound was never hit"
                await asyncio.sleep(0)
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    await ws.recv()
            assert (ws.close_code, ws.close_reason) == (3008, "slow")
