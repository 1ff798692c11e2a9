"""Embedded hubs in several processes on one PostgreSQL: an outbox row whose transaction
commits after the relays have given up waiting for its id (the gap timeout) still reaches
every process's hub, even when another process published and marked it first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from callpad.auth import TokenVerifier
from callpad.clock import utcnow
from callpad.context import AppContext
from callpad.db.engine import Database
from callpad.media.offline import OfflineMedia
from callpad.realtime.hub import Hub
from callpad.realtime.outbox import OutboxEvent, write_events
from callpad.realtime.publishers import HubPublisher
from callpad.realtime.relay import OutboxRelay
from callpad.realtime.runtime import hub_config
from callpad.testing import fast_settings

pytestmark = pytest.mark.postgres

CHANNEL = "user:#7"
GAP_TIMEOUT_S = 0.05


def event(label: str) -> OutboxEvent:
    return OutboxEvent("test.event", {"label": label}, (CHANNEL,))


class Process:
    """What one server process has for realtime: its own hub, fed by its own relay."""

    def __init__(self, ctx: AppContext) -> None:
        async def allow_all(_user: str, _channel: str) -> bool:
            return True

        self.hub = Hub(hub_config(ctx.settings), allow_all)
        self.relay = OutboxRelay(ctx.db, ctx.settings, asyncio.Event(), HubPublisher(self.hub))

    def labels(self) -> list[str]:
        return [data["data"]["label"] for _offset, data in self.hub.history(CHANNEL)]


@pytest.fixture
async def ctx(postgres_url: str) -> AsyncIterator[AppContext]:
    """What the relays need of a server: settings and the database (workers not running)."""
    settings = fast_settings(postgres_url, realtime_relay_gap_timeout_s=GAP_TIMEOUT_S)
    db = Database(settings.resolved_database_url())
    try:
        yield AppContext(settings, db, TokenVerifier(settings), OfflineMedia(answer_delay_s=0))
    finally:
        await db.dispose()


async def test_a_row_committed_after_the_gap_timeout_reaches_every_process(
    ctx: AppContext,
) -> None:
    db = ctx.db
    first, second = Process(ctx), Process(ctx)
    try:
        # Both relays start at the (empty) outbox's end.
        assert await first.relay.step() == 0
        assert await second.relay.step() == 0

        # "late" takes the lower id and stays uncommitted; "on time" commits after it.
        async with db.engine.connect() as late_conn:
            late_tx = await late_conn.begin()
            await write_events(late_conn, [event("late")], utcnow())
            async with db.write() as conn:
                await write_events(conn, [event("on time")], utcnow())

            for process in (first, second):
                assert await process.relay.step() == 1
                assert process.labels() == ["on time"]
            await asyncio.sleep(GAP_TIMEOUT_S * 2)
            for process in (first, second):
                await process.relay.step()  # gives up on the gap: the cursor passes "late"
                assert process.relay.cursor is not None
                assert process.relay.cursor.position >= 2
            await late_tx.commit()

        # The first process publishes the late row and marks it published...
        assert await first.relay.step() == 1
        assert first.labels() == ["on time", "late"]
        # ...and the second still publishes it to its own hub, once.
        assert await second.relay.step() == 1
        assert second.labels() == ["on time", "late"]
        assert await second.relay.step() == 0
        assert await first.relay.step() == 0
        assert second.labels() == ["on time", "late"]
    finally:
        first.hub.close_all()
        second.hub.close_all()
