"""Two `callpad serve` processes on one PostgreSQL, every safety poll an hour long: what
one process commits, or a writer that dies before it could publish, reaches the clients of
the other process's hub through LISTEN/NOTIFY, each event once; rings written by one
process time out on time, once, in whichever process wakes first."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from callpad.clock import utcnow
from callpad.config import to_async_url
from callpad.db import changes
from callpad.db.engine import Database
from callpad.db.tables import invites, outbox
from callpad.db.transaction import write_transaction
from callpad.realtime.channels import user_channel
from callpad.realtime.outbox import OutboxEvent, stored_events, write_events
from callpad.realtime.tokens import mint_connection_token
from callpad.testing import fast_settings

from testsupport import processes
from testsupport.api import Api, eventually

from .conftest import AGENT, CUSTOMER, centrifuge_client

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Nothing polls within the test: only commits, NOTIFY and due times wake the workers.
NO_POLLING = {
    "CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S": "3600",
    "CALLPAD_TIMER_POLL_INTERVAL_S": "3600",
    "CALLPAD_OFFLINE_ANSWER_DELAY_S": "0.05",
}
RINGS = 6
CHANNEL = user_channel(CUSTOMER)


def key(publication: dict[str, Any]) -> tuple[str, str]:
    return publication["topic"], orjson.dumps(
        publication["data"], option=orjson.OPT_SORT_KEYS
    ).decode()


async def outbox_for(db: Database, channel: str) -> list[tuple[str, str]]:
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(
                outbox.c.topic, outbox.c.channels, outbox.c.data, outbox.c.fanned_out
            ).order_by(outbox.c.id)
        )
        events = [e for row in rows for e in stored_events(*row)]
        return [key({"topic": t, "data": d}) for t, chans, d in events if channel in chans]


async def pending_rings(db: Database) -> int:
    async with db.read() as conn:
        query = sa.select(sa.func.count()).where(invites.c.state == "pending")
        return int((await conn.execute(query)).scalar_one())


async def test_the_other_process_hears_every_commit_and_delivers_each_event_once(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = fast_settings(postgres_url)
    db = Database(to_async_url(postgres_url))
    token = mint_connection_token(settings.realtime_hmac_secret, CUSTOMER, [CHANNEL], 3600)[0]
    try:
        async with (
            processes.serving(postgres_url, tmp_path, [NO_POLLING, NO_POLLING]) as (a, b),
            httpx.AsyncClient(base_url=a.url, trust_env=False, timeout=30) as http_a,
        ):
            api_a = Api(http_a, settings)
            await api_a.create_vendor("acme", {AGENT: "agent"}, ring_timeout_s=1.0)
            ws_b = b.url.replace("http://", "ws://") + "/connection/websocket"
            async with centrifuge_client(ws_b, token) as (_client, seen):
                await eventually(lambda: bool(seen.subscribed), within_s=30)
                # Changes made through process A; the rings time out a second later.
                for _ in range(RINGS):
                    started = await api_a.post(
                        CUSTOMER,
                        "/vendors/acme/sessions",
                        json={"target": {"type": "vendor_user", "user_id": AGENT}},
                    )
                    assert started.status_code == 201, started.text
                # A writer that commits, announces, and dies before publishing anything.
                died = OutboxEvent("session.upsert", {"id": "from-a-dead-writer"}, (CHANNEL,))
                async with write_transaction(
                    db,
                    lambda _record: None,
                    announce=lambda conn, record: changes.announce(conn, record, "dead"),
                ) as conn:
                    await write_events(conn, [died], utcnow())

                async def rings_timed_out() -> bool:
                    return await pending_rings(db) == 0

                await eventually(rings_timed_out, within_s=60)
                expected = await outbox_for(db, CHANNEL)
                # Each ring: its start, its end (missed), its removal from the live list;
                # a ring timed out twice would add events. Then the dead writer's event.
                assert Counter(topic for topic, _ in expected) == {
                    "session.upsert": 2 * RINGS + 1,
                    "session.remove": RINGS,
                }

                def delivered() -> list[tuple[str, str]]:
                    return [key(p) for p in seen.publications.get(CHANNEL, [])]

                await eventually(lambda: len(delivered()) >= len(expected), within_s=30)
                await asyncio.sleep(1)  # room for a duplicate to show
                assert Counter(delivered()) == Counter(expected)
                assert len(set(delivered())) == len(delivered())
    finally:
        await db.dispose()
