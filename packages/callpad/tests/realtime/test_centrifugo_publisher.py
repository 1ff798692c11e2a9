"""Production mode: the relay publishes through Centrifugo's server HTTP API with `cent`.

No Centrifugo binary can be installed here, so a loopback HTTP server stands in for it and
checks each request as Centrifugo's API defines it: `POST /api/batch`, the `X-API-Key`
header, and a body `{"commands": [{"publish": {channel, data, idempotency_key}}], "parallel":
false}`; it answers `{"replies": [{"publish": {}}, ...]}` as Centrifugo does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from aiohttp import web
from callpad.db.tables import outbox
from callpad.realtime.channels import agent_channel, user_channel
from callpad.realtime.outbox import OutboxEvent

from .conftest import AGENT, CUSTOMER, eventually, live_server

API_KEY = "centrifugo-api-key-for-tests"


class FakeCentrifugo:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        assert request.method == "POST"
        assert request.path == "/api/batch"
        assert request.headers["X-API-Key"] == API_KEY
        assert request.content_type == "application/json"
        body = await request.json()
        assert set(body) == {"commands", "parallel"}
        assert body["parallel"] is False
        for command in body["commands"]:
            assert list(command) == ["publish"]
            assert set(command["publish"]) == {"channel", "data", "idempotency_key"}
        self.requests.append(body)
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": {"code": 100, "message": "internal"}}, status=500)
        return web.json_response({"replies": [{"publish": {}} for _ in body["commands"]]})


@pytest.fixture
async def centrifugo() -> AsyncIterator[FakeCentrifugo]:
    fake = FakeCentrifugo()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.port = runner.addresses[0][1]
    yield fake
    await runner.cleanup()


async def test_the_relay_publishes_batches_to_centrifugo(
    tmp_path: Path, centrifugo: FakeCentrifugo
) -> None:
    async with live_server(
        tmp_path,
        realtime_mode="centrifugo",
        realtime_centrifugo_api_url=f"http://127.0.0.1:{centrifugo.port}/api",
        realtime_centrifugo_api_key=API_KEY,
        realtime_centrifugo_url="wss://rt.example.test/connection/websocket",
    ) as server:
        assert server.ctx.hub is None
        grant = await server.grant(CUSTOMER)
        assert grant["url"] == "wss://rt.example.test/connection/websocket"
        claims = jwt.decode(grant["token"], server.settings.realtime_hmac_secret, ["HS256"])
        assert claims["sub"] == str(CUSTOMER) and claims["channels"] == [user_channel(CUSTOMER)]

        centrifugo.fail_next = 1  # the first attempt fails: retried with the same keys
        both = (user_channel(CUSTOMER), agent_channel("acme", AGENT))
        await server.emit(
            OutboxEvent("session.upsert", {"version": 1}, both),
            OutboxEvent("session.invite.upsert", {"invite_id": "i1"}, (both[1],)),
        )

        async def all_published() -> bool:
            async with server.ctx.db.read() as conn:
                left = await conn.execute(
                    sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
                )
                return left.scalar_one() == 0

        await eventually(all_published)
        first, second = centrifugo.requests
        assert first == second
        async with server.ctx.db.read() as conn:
            ids = [r for (r,) in await conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id))]
        assert second["commands"] == [
            {
                "publish": {
                    "channel": both[0],
                    "data": {"topic": "session.upsert", "data": {"version": 1}},
                    "idempotency_key": f"outbox-{ids[0]}",
                }
            },
            {
                "publish": {
                    "channel": both[1],
                    "data": {"topic": "session.upsert", "data": {"version": 1}},
                    "idempotency_key": f"outbox-{ids[0]}",
                }
            },
            {
                "publish": {
                    "channel": both[1],
                    "data": {"topic": "session.invite.upsert", "data": {"invite_id": "i1"}},
                    "idempotency_key": f"outbox-{ids[1]}",
                }
            },
        ]
