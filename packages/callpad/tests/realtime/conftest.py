"""Realtime fixtures: a real uvicorn server on a loopback port, clients, and Callpad in
Centrifugo mode beside a real Centrifugo, reached through TCP proxies that can drop
connections or hold new ones (to make "published while away" deterministic)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from callpad.app import create_app
from callpad.clock import utcnow
from callpad.config import Settings
from callpad.context import AppContext, write_transaction
from callpad.db.tables import outbox
from callpad.realtime.hub import Hub
from callpad.realtime.outbox import OutboxEvent, stored_events, write_events
from callpad.realtime.runtime import hub_websocket_protocol
from callpad.testing import fast_settings, migrate
from centrifuge import (
    Client,
    ClientEventHandler,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    ServerPublicationContext,
    ServerSubscribedContext,
    SubscriptionEventHandler,
)
from fastapi import FastAPI

from testsupport.api import Api, eventually
from testsupport.proxy import TcpProxy
from testsupport.servers import CentrifugoServer

CUSTOMER, AGENT, OWNER, STRANGER = 7, 42, 1, 99


@dataclass
class LiveServer:
    app: FastAPI
    settings: Settings
    base_url: str
    api: Api

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    @property
    def hub(self) -> Hub:
        assert self.ctx.hub is not None
        return self.ctx.hub

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/connection/websocket"

    async def grant(self, user_id: int, vendor: str | None = None) -> dict[str, Any]:
        path = f"/vendors/{vendor}/realtime/grant" if vendor else "/realtime/grant"
        response = await self.api.get(user_id, path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def emit(self, *events: OutboxEvent) -> None:
        """Commit outbox rows as a change would (the relay is woken by the commit)."""
        async with write_transaction(self.ctx) as conn:
            await write_events(conn, events, utcnow())


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def live_server(tmp_path: Path, **overrides: Any) -> AsyncIterator[LiveServer]:
    sock = bound_socket()
    port = sock.getsockname()[1]
    values: dict[str, Any] = {
        "public_url": f"http://127.0.0.1:{port}",
        "realtime_relay_poll_interval_s": 0.05,
    }
    values.update(overrides)
    settings = fast_settings(f"sqlite:///{tmp_path / 'callpad.db'}", **values)
    await migrate(settings)
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws=hub_websocket_protocol(app))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started or task.done())
        if task.done():
            task.result()
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            api = Api(http, settings)
            yield LiveServer(app, settings, base_url, api)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as live:
        await live.api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
        yield live


@dataclass
class Recorder(ClientEventHandler):
    """Everything a centrifuge-python client tells its app, in order."""

    publications: dict[str, list[Any]] = field(default_factory=dict)
    offsets: dict[str, list[int]] = field(default_factory=dict)
    subscribed: list[ServerSubscribedContext] = field(default_factory=list)
    connecting: list[ConnectingContext] = field(default_factory=list)
    disconnected: list[DisconnectedContext] = field(default_factory=list)
    errors: list[ErrorContext] = field(default_factory=list)
    connected: int = 0

    async def on_connected(self, ctx: Any) -> None:
        self.connected += 1

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        self.connecting.append(ctx)

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        self.disconnected.append(ctx)

    async def on_error(self, ctx: ErrorContext) -> None:
        self.errors.append(ctx)

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        self.subscribed.append(ctx)

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        self.publications.setdefault(ctx.channel, []).append(ctx.pub.data)
        self.offsets.setdefault(ctx.channel, []).append(ctx.pub.offset)

    def topics(self, channel: str) -> list[str]:
        return [p["topic"] for p in self.publications.get(channel, [])]


class SubscriptionRecorder(SubscriptionEventHandler):
    """A client-side subscription's unsubscribes (a refusal arrives as one, with its code)."""

    def __init__(self) -> None:
        self.unsubscribed: list[Any] = []

    async def on_unsubscribed(self, ctx: Any) -> None:
        self.unsubscribed.append(ctx)


@asynccontextmanager
async def centrifuge_client(
    url: str,
    token: str = "",
    get_token: Callable[[], Awaitable[str]] | None = None,
    **kwargs: Any,
) -> AsyncIterator[tuple[Client, Recorder]]:
    recorder = Recorder()
    client = Client(url, events=recorder, token=token, get_token=get_token, proxy=None, **kwargs)
    await client.connect()
    try:
        yield client, recorder
    finally:
        await client.disconnect()


@dataclass
class CentrifugoMode:
    """Callpad in Centrifugo mode beside a real Centrifugo node. Grants send clients through
    `proxy` (to cut their network); Callpad publishes through `api_proxy`."""

    callpad: LiveServer
    centrifugo: CentrifugoServer
    proxy: TcpProxy
    api_proxy: TcpProxy

    async def history(self, channel: str) -> list[Any]:
        """The `{topic, data}` publications Centrifugo holds for the channel, oldest first."""
        return [p["data"] for p in await self.centrifugo.history(channel)]

    async def published(self, channel: str) -> list[Any]:
        """What Callpad's outbox holds for the channel, in commit order (the source of truth)."""
        async with self.callpad.ctx.db.read() as conn:
            rows = await conn.execute(
                sa.select(
                    outbox.c.topic, outbox.c.channels, outbox.c.data, outbox.c.fanned_out
                ).order_by(outbox.c.id)
            )
            events = [e for row in rows for e in stored_events(*row)]
            return [{"topic": t, "data": d} for t, chans, d in events if channel in chans]


@asynccontextmanager
async def centrifugo_mode_server(
    tmp_path: Path, centrifugo: CentrifugoServer, **overrides: Any
) -> AsyncIterator[CentrifugoMode]:
    """acme (OWNER, AGENT) on a Callpad whose realtime is the real Centrifugo."""
    async with TcpProxy(centrifugo.port) as proxy, TcpProxy(centrifugo.port) as api_proxy:
        settings = centrifugo.callpad_settings(client_url=proxy.url())
        settings["realtime_centrifugo_api_url"] = f"http://127.0.0.1:{api_proxy.port}/api"
        async with live_server(tmp_path, **settings, **overrides) as live:
            await live.api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
            yield CentrifugoMode(live, centrifugo, proxy, api_proxy)


@pytest.fixture
async def centrifugo_mode(
    tmp_path: Path, centrifugo: CentrifugoServer
) -> AsyncIterator[CentrifugoMode]:
    async with centrifugo_mode_server(tmp_path, centrifugo) as mode:
        yield mode
