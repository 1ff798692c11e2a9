"""What the app's lifespan runs for realtime: the hub (embedded mode), its ticker, the relay."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..config import Settings
from ..context import AppContext
from .access import may_read
from .endpoints import HUB_PATH
from .hub import Hub, HubConfig
from .publishers import CentrifugoPublisher, HubPublisher, Publisher
from .relay import OutboxRelay
from .server import HubWebSocketProtocol

__all__ = ["HubShortcut", "hub_config", "hub_websocket_protocol", "running_realtime", "serve_hub"]


def hub_config(settings: Settings) -> HubConfig:
    return HubConfig(
        secret=settings.realtime_hmac_secret,
        history_size=settings.realtime_history_size,
        history_ttl_s=settings.realtime_history_ttl_s,
        ping_interval_s=settings.realtime_ping_interval_s,
        pong_timeout_s=settings.realtime_pong_timeout_s,
        expired_close_delay_s=settings.realtime_expired_close_delay_s,
        connect_timeout_s=settings.realtime_connect_timeout_s,
        queue_max_bytes=settings.realtime_client_queue_max_bytes,
        token_ttl_s=settings.realtime_token_ttl_s,
    )


@asynccontextmanager
async def running_realtime(ctx: AppContext) -> AsyncIterator[None]:
    """Build the publisher (and the hub, stored on `ctx.hub`), run the relay; stop on exit."""
    settings = ctx.settings
    hub: Hub | None = None
    publisher: Publisher
    if settings.realtime_mode == "centrifugo":
        publisher = CentrifugoPublisher(
            settings.realtime_centrifugo_api_url, settings.realtime_centrifugo_api_key
        )
    else:

        async def authorize(user: str, channel: str) -> bool:
            async with ctx.db.read() as conn:
                return await may_read(conn, user, channel)

        hub = Hub(hub_config(settings), authorize, on_log_in=ctx.user_connected)
        ctx.hub = hub
        publisher = HubPublisher(hub)
    relay = ctx.relay = OutboxRelay(ctx.db, settings, ctx.outbox_written, publisher)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(relay.run(), name="outbox-relay")]
            if hub is not None:
                tasks.append(group.create_task(hub.run(), name="hub-ticker"))
            try:
                yield
            finally:
                if hub is not None:
                    hub.close_all()
                for task in tasks:
                    task.cancel()
    finally:
        ctx.relay = None
        await publisher.close()


async def serve_hub(app: Starlette, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve a WebSocket for `HUB_PATH` with the app's hub (refused in Centrifugo mode)."""
    ctx: AppContext = app.state.ctx
    websocket = WebSocket(scope, receive, send)
    if ctx.hub is None:
        await websocket.close(1008)  # Centrifugo mode: clients connect to Centrifugo
        return
    await ctx.hub.serve(websocket)


def hub_websocket_protocol(app: Starlette) -> type[HubWebSocketProtocol]:
    """uvicorn's `ws` protocol for `app`: the hub's WebSockets go straight to the hub,
    without passing through the app (see `HubWebSocketProtocol.with_endpoint`)."""
    return HubWebSocketProtocol.with_endpoint(HUB_PATH, functools.partial(serve_hub, app))


class HubShortcut:
    """ASGI middleware, outermost: a WebSocket for `HUB_PATH` goes straight to the hub.

    An idle realtime connection lives for hours inside the coroutines of whatever it
    passed through; the app's middleware, exception handlers and router would each hold
    a frame per connection for nothing (none of them acts on the hub's WebSocket), about
    7 KB of the memory of every idle connection. Everything else passes through. (Under
    `hub_websocket_protocol`, as `callpad serve` runs, the hub's sockets do not even
    reach the app.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == HUB_PATH:
            await serve_hub(scope["app"], scope, receive, send)
            return
        await self.app(scope, receive, send)
