"""The npm `centrifuge` client (pinned, under Node) against the hub: connect, receive,
recover after a server-initiated reconnect. Skipped only when node or npm is absent."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from callpad.realtime.channels import user_channel
from callpad.realtime.outbox import OutboxEvent

from .conftest import CUSTOMER, LiveServer, TcpProxy, eventually

CENTRIFUGE_JS = "centrifuge@5.7.4"
WS = "ws@8.23.0"  # Node 20 has no global WebSocket

SCRIPT = r"""
const { Centrifuge } = require("centrifuge");
const WebSocket = require("ws");
const [url, token] = process.argv.slice(2);
const out = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const client = new Centrifuge(url, { token, websocket: WebSocket, minReconnectDelay: 50 });
client.on("connected", (ctx) => out({ event: "connected", client: ctx.client }));
client.on("connecting", (ctx) => out({ event: "connecting", code: ctx.code }));
client.on("disconnected", (ctx) => out({ event: "disconnected", code: ctx.code }));
client.on("subscribed", (ctx) =>
  out({ event: "subscribed", channel: ctx.channel, recoverable: ctx.recoverable,
        wasRecovering: ctx.wasRecovering, recovered: ctx.recovered }));
client.on("publication", (ctx) =>
  out({ event: "publication", channel: ctx.channel, data: ctx.data, offset: ctx.offset }));
client.connect();
process.stdin.on("end", () => { client.disconnect(); process.exit(0); });
process.stdin.resume();
"""


@pytest.fixture(scope="session")
def node_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the npm centrifuge client")
    root = tmp_path_factory.mktemp("centrifuge-js")
    (root / "package.json").write_text('{"name": "hub-test", "private": true}')
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", CENTRIFUGE_JS, WS],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (root / "client.js").write_text(SCRIPT)
    return root


class NodeClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.events.append(json.loads(line))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()
        await self._reader


@pytest.fixture
async def node_client(node_project: Path) -> AsyncIterator[Any]:
    clients: list[NodeClient] = []

    async def start(url: str, token: str) -> NodeClient:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(node_project / "client.js"),
            url,
            token,
            cwd=node_project,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        clients.append(NodeClient(process))
        return clients[-1]

    yield start
    for client in clients:
        await client.close()


async def test_centrifuge_js_connects_receives_and_recovers(
    server: LiveServer, node_client: Any
) -> None:
    grant = await server.grant(CUSTOMER)
    channel = user_channel(CUSTOMER)
    port = int(server.base_url.rsplit(":", 1)[1])
    async with TcpProxy(port) as proxy:
        client: NodeClient = await node_client(proxy.url(), grant["token"])
        await eventually(lambda: client.of("subscribed"))
        assert client.of("connected")
        assert client.of("subscribed")[0]["channel"] == channel
        assert client.of("subscribed")[0]["recoverable"] is True

        def event(n: int) -> OutboxEvent:
            return OutboxEvent("session.upsert", {"version": n}, (channel,))

        await server.emit(event(1))
        await eventually(lambda: len(client.of("publication")) == 1)

        proxy.hold()
        server.hub.disconnect(CUSTOMER)
        await eventually(lambda: server.hub.subscribers(channel) == 0)
        await server.emit(event(2), event(3))
        await eventually(lambda: server.hub.position(channel).offset == 3)
        proxy.release()

        await eventually(lambda: len(client.of("publication")) == 3)
        await server.emit(event(4))
        await eventually(lambda: len(client.of("publication")) == 4)
        publications = client.of("publication")
        assert [p["data"]["data"]["version"] for p in publications] == [1, 2, 3, 4]
        assert [p["offset"] for p in publications] == [1, 2, 3, 4]
        assert client.of("connecting")[-1]["code"] == 3011  # force reconnect
        resubscribed = client.of("subscribed")[-1]
        assert resubscribed["wasRecovering"] is True
        assert resubscribed["recovered"] is True
