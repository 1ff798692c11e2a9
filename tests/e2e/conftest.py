"""Every e2e flow runs twice: on the embedded hub and on a real Centrifugo (Callpad in
Centrifugo mode, a node running docs/centrifugo/config.json on Redis). The SDK is the same
in both; only the server's settings and the way a test breaks the network differ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from farvex.testing import CallpadServer

from testsupport.proxy import TcpProxy
from testsupport.servers import CentrifugoServer, delete_redis_keys, redis_url, run_centrifugo_nodes


class Realtime(Protocol):
    """The realtime side of an e2e server: its settings and its network faults."""

    settings: dict[str, Any]

    def drop(self, server: CallpadServer) -> int:
        """Cut every client's realtime connection (they reconnect); returns how many."""
        ...

    def outage(self, server: CallpadServer, *, lose_history: bool = False) -> Any:
        """While inside, clients are cut off and cannot reconnect; with `lose_history`,
        what was published meanwhile cannot be recovered when they do."""
        ...


class EmbeddedHub:
    # Losing history is the test's `realtime_history_size=1` in this mode.
    settings: dict[str, Any] = {}

    def drop(self, server: CallpadServer) -> int:
        return server.drop_realtime()

    def outage(self, server: CallpadServer, *, lose_history: bool = False) -> Any:
        return server.realtime_outage()


class RealCentrifugo:
    """Clients reach the node through a proxy, which is where the network breaks."""

    def __init__(self, node: CentrifugoServer, proxy: TcpProxy, redis: str) -> None:
        self.node, self.proxy, self.redis = node, proxy, redis
        self.settings = node.callpad_settings(client_url=proxy.url())

    def drop(self, server: CallpadServer) -> int:
        return self.proxy.drop()

    @asynccontextmanager
    async def outage(
        self, server: CallpadServer, *, lose_history: bool = False
    ) -> AsyncIterator[None]:
        self.proxy.hold()
        self.proxy.drop()
        try:
            yield
        finally:
            if lose_history:  # Redis lost Centrifugo's streams: new epochs, no recovery
                delete_redis_keys(self.redis, self.node.config["engine"]["redis"]["prefix"])
            self.proxy.release()


@pytest.fixture(params=["embedded", "centrifugo"])
async def realtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Realtime]:
    if request.param == "embedded":
        yield EmbeddedHub()
        return
    redis = redis_url()
    with run_centrifugo_nodes(tmp_path / "centrifugo", redis) as (node,):
        async with TcpProxy(node.port) as proxy:
            yield RealCentrifugo(node, proxy, redis)


@pytest.fixture
def callpad_settings(realtime: Realtime) -> dict[str, Any]:
    """`callpad_server`'s settings: those of the realtime mode under test."""
    return dict(realtime.settings)
