"""The npm `centrifuge` client (pinned, under Node) against the embedded hub and the real
Centrifugo: connect, receive, recover after a reconnect; against Centrifugo also refusal of
channels that are not the client's and token refresh through the grant endpoint. Skipped
only when node or npm (or, locally, the Centrifugo binary) is absent."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from callpad.realtime.channels import agent_channel, user_channel, vendor_feed
from callpad.realtime.outbox import OutboxEvent

from testsupport.api import eventually
from testsupport.proxy import TcpProxy
from testsupport.servers import CentrifugoServer

from .conftest import AGENT, CUSTOMER, CentrifugoMode, LiveServer, centrifugo_mode_server

CENTRIFUGE_JS = "centrifuge@5.7.4"
WS = "ws@8.23.0"  # Node 20 has no global WebSocket

SCRIPT = r"""
const { Centrifuge } = require("centrifuge");
const WebSocket = require("ws");
const readline = require("readline");
// A grant URL and bearer, when given, make getToken fetch a fresh grant from Callpad.
const [url, token, grantUrl, bearer] = process.argv.slice(2);
const out = (event) => process.stdout.write(JSON.stringify(event) + "\n");
const options = { token, websocket: WebSocket, minReconnectDelay: 50 };
if (grantUrl) {
  options.getToken = async () => {
    const response = await fetch(grantUrl, { headers: { Authorization: `Bearer ${bearer}` } });
    out({ event: "token", status: response.status });
    return (await response.json()).token;
  };
}
const client = new Centrifuge(url, options);
client.on("connected", (ctx) => out({ event: "connected", client: ctx.client }));
client.on("connecting", (ctx) => out({ event: "connecting", code: ctx.code }));
client.on("disconnected", (ctx) => out({ event: "disconnected", code: ctx.code }));
client.on("subscribed", (ctx) =>
  out({ event: "subscribed", channel: ctx.channel, recoverable: ctx.recoverable,
        wasRecovering: ctx.wasRecovering, recovered: ctx.recovered }));
client.on("publication", (ctx) =>
  out({ event: "publication", channel: ctx.channel, data: ctx.data, offset: ctx.offset }));
client.connect();
// Each stdin line names a channel to subscribe to from the client side.
readline.createInterface({ input: process.stdin }).on("line", (channel) => {
  const sub = client.newSubscription(channel);
  sub.on("subscribed", () => out({ event: "client_subscribed", channel }));
  sub.on("unsubscribed", (ctx) =>
    out({ event: "client_unsubscribed", channel, code: ctx.code }));
  sub.subscribe();
}).on("close", () => { client.disconnect(); process.exit(0); });
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

    def subscribe(self, channel: str) -> None:
        """A client-side subscribe (the client's events report the outcome)."""
        assert self.process.stdin is not None
        self.process.stdin.write(channel.encode() + b"\n")

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()
        await self._reader


@pytest.fixture
async def node_client(node_project: Path) -> AsyncIterator[Any]:
    clients: list[NodeClient] = []

    async def start(url: str, token: str, *refresh_from: str) -> NodeClient:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(node_project / "client.js"),
            url,
            token,
            *refresh_from,
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


@pytest.mark.slow
async def test_centrifuge_js_on_real_centrifugo_receives_recovers_and_is_refused(
    centrifugo_mode: CentrifugoMode, node_client: Any
) -> None:
    callpad, proxy = centrifugo_mode.callpad, centrifugo_mode.proxy
    grant = await callpad.grant(AGENT, "acme")
    channel = agent_channel("acme", AGENT)
    client: NodeClient = await node_client(grant["url"], grant["token"])
    await eventually(lambda: client.of("subscribed"))
    assert [s["channel"] for s in client.of("subscribed")] == [channel]

    started = await callpad.api.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    session = started.json()["session"]
    live = await centrifugo_mode.published(channel)
    assert {p["topic"] for p in live} == {"session.upsert", "session.invite.upsert"}
    await eventually(lambda: [p["data"] for p in client.of("publication")] == live)

    # The network drops; the caller hangs up while the agent is away.
    proxy.hold()
    proxy.drop()
    await eventually(lambda: client.of("connecting"))
    cancelled = await callpad.api.post(CUSTOMER, f"/vendors/acme/sessions/{session['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    everything = await centrifugo_mode.published(channel)
    assert {"session.remove", "session.invite.remove"} <= {p["topic"] for p in everything}

    async def in_history() -> bool:
        return await centrifugo_mode.history(channel) == everything

    await eventually(in_history)
    proxy.release()
    await eventually(lambda: len(client.of("publication")) == len(everything))
    publications = client.of("publication")
    assert [p["data"] for p in publications] == everything
    assert [p["offset"] for p in publications] == list(range(1, len(everything) + 1))
    resubscribed = client.of("subscribed")[-1]
    assert resubscribed["wasRecovering"] is True and resubscribed["recovered"] is True

    for other in (user_channel(CUSTOMER), vendor_feed("acme")):
        client.subscribe(other)
        await eventually(
            lambda other=other: [
                e for e in client.of("client_unsubscribed") if e["channel"] == other
            ]
        )
    refused = client.of("client_unsubscribed")
    assert [(e["channel"], e["code"]) for e in refused] == [
        (user_channel(CUSTOMER), 103),
        (vendor_feed("acme"), 103),
    ]
    assert not client.of("client_subscribed")


@pytest.mark.slow
async def test_centrifuge_js_refreshes_its_token_from_the_grant_endpoint(
    tmp_path: Path, centrifugo: CentrifugoServer, node_client: Any
) -> None:
    async with centrifugo_mode_server(tmp_path, centrifugo, realtime_token_ttl_s=2) as mode:
        callpad = mode.callpad
        grant = await callpad.grant(CUSTOMER)
        grant_url = callpad.base_url + "/api/v1/realtime/grant"
        client: NodeClient = await node_client(
            grant["url"], grant["token"], grant_url, callpad.api.token(CUSTOMER)
        )
        await eventually(lambda: client.of("subscribed"))
        # Each 2-second token is replaced before it runs out, on the same connection.
        await eventually(lambda: len(client.of("token")) >= 2)
        assert {e["status"] for e in client.of("token")} == {200}
        channel = user_channel(CUSTOMER)
        await callpad.emit(OutboxEvent("session.upsert", {"version": 1}, (channel,)))
        await eventually(lambda: client.of("publication"))
        assert len(client.of("connected")) == 1 and not client.of("disconnected")
        assert not client.of("connecting")[1:]  # never reconnected
