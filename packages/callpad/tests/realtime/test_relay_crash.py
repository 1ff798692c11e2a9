"""Crash: the server process is SIGKILLed while changes commit; after a restart the relay
publishes every committed event exactly once per channel, and none that rolled back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from callpad.clock import utcnow
from callpad.config import Settings
from callpad.db.engine import Database
from callpad.db.tables import outbox
from callpad.realtime.channels import agent_channel, user_channel
from callpad.realtime.outbox import OutboxEvent, write_events
from callpad.realtime.tokens import mint_connection_token
from callpad.testing import migrate

from testsupport.api import eventually

from .conftest import bound_socket, centrifuge_client

pytestmark = pytest.mark.slow

USERS = (7, 8)
CHANNELS = tuple(user_channel(u) for u in USERS)
SERVE = (
    "import sys, uvicorn; from callpad.app import create_app; "
    "from callpad.realtime.server import HubWebSocketProtocol; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', "
    "ws=HubWebSocketProtocol)"
)


class Rollback(Exception):
    pass


@asynccontextmanager
async def server_process(
    env: dict[str, str], port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVE, str(port), env=env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _wait_listening(port: int) -> None:
    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await eventually(listening, within_s=30)


def server_env(url: str, **extra: str) -> tuple[int, dict[str, str], str]:
    """A free port, the environment of a server process on `url` there (its relay polling
    often, so a restarted one publishes at once), and its hub's WebSocket URL."""
    sock = bound_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    env = {
        **os.environ,
        "CALLPAD_DATABASE_URL": url,
        "CALLPAD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S": "0.01",
        **extra,
    }
    return port, env, f"ws://127.0.0.1:{port}/connection/websocket"


async def all_published(db: Database) -> bool:
    """Every outbox row is marked published."""
    async with db.read() as conn:
        left = await conn.execute(sa.select(sa.func.count()).where(outbox.c.published_at.is_(None)))
        return left.scalar_one() == 0


async def test_sigkill_mid_changes_then_restart_publishes_each_committed_event_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'callpad.db'}"
    settings = Settings(database_url=url)
    await migrate(settings)
    port, env, ws_url = server_env(url, CALLPAD_REALTIME_HISTORY_SIZE="100000")
    secret = settings.realtime_hmac_secret

    def token(user: int) -> str:
        return mint_connection_token(secret, user, [user_channel(user)], 3600)[0]

    db = Database(settings.resolved_database_url())
    committed: list[int] = []
    rolled_back: list[int] = []
    stop = asyncio.Event()

    async def make_changes() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            event = OutboxEvent("session.upsert", {"n": n}, CHANNELS)
            try:
                async with db.write() as conn:
                    await write_events(conn, [event], utcnow())
                    if n % 5 == 0:
                        raise Rollback
            except Rollback:
                rolled_back.append(n)
            else:
                committed.append(n)
            await asyncio.sleep(0.005)

    live: dict[str, list[int]] = {}
    writer: asyncio.Task[None] | None = None
    try:
        async with server_process(env, port) as first:
            await _wait_listening(port)
            async with centrifuge_client(ws_url, token(USERS[0])) as (client, seen):
                await client.ready()
                writer = asyncio.create_task(make_changes())
                await eventually(lambda: len(seen.publications.get(CHANNELS[0], [])) >= 40)
                first.send_signal(signal.SIGKILL)  # mid-changes: the writer keeps committing
                await first.wait()
                live[CHANNELS[0]] = [p["data"]["n"] for p in seen.publications[CHANNELS[0]]]
        await eventually(lambda: len(committed) >= len(live[CHANNELS[0]]) + 20)
        stop.set()
        await writer

        async with db.read() as conn:
            marked_rows = await conn.execute(
                sa.select(outbox.c.data).where(outbox.c.published_at.is_not(None))
            )
            marked = {row[0]["n"] for row in marked_rows}

        async with server_process(env, port):
            await _wait_listening(port)

            await eventually(lambda: all_published(db), within_s=30)
            restarted: dict[str, list[int]] = {}
            for user, channel in zip(USERS, CHANNELS, strict=True):
                async with centrifuge_client(ws_url, token(user)) as (client, _):
                    await client.ready()
                    history = await client.history(channel, limit=-1)
                    restarted[channel] = [p.data["data"]["n"] for p in history.publications]
    finally:
        stop.set()
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer
        await db.dispose()

    assert rolled_back and committed
    everything = set(committed)
    before = live[CHANNELS[0]]
    assert len(before) == len(set(before)) and set(before) <= everything
    for channel in CHANNELS:
        after = restarted[channel]
        assert after == sorted(after)  # commit (id) order
        assert len(after) == len(set(after))  # never twice in a stream
        assert not set(after) & marked  # what the first process marked is not published again
        assert set(after) | marked == everything  # nothing committed is lost
        assert not set(after) & set(rolled_back)
    # Received live before the crash but not yet marked: republished under the new epoch.
    assert set(before) - marked <= set(restarted[CHANNELS[0]])


# A process that commits a team ring and is killed before anything publishes it: the
# SIGKILL comes from the commit's own callback, where this process's hub would be handed
# the rows.
RING_AND_DIE = """
import asyncio, os, signal, sys
import orjson
from callpad.clock import utcnow
from callpad.db.engine import Database
from callpad.db.transaction import write_transaction
from callpad.realtime.outbox import OutboxEvent, write_events
from callpad.sessions.events import fan_out

async def main(url, agents):
    db = Database(url)
    topic = "session.invite.upsert"
    events = fan_out([OutboxEvent(topic, data, (channel,)) for channel, data in agents])
    assert len(events) == 1, events
    killed = lambda _record: os.kill(os.getpid(), signal.SIGKILL)
    async with write_transaction(db, killed) as conn:
        await write_events(conn, events, utcnow())

asyncio.run(main(sys.argv[1], orjson.loads(sys.argv[2])))
"""


async def test_a_team_ring_whose_process_died_between_commit_and_publish_reaches_every_agent(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'callpad.db'}"
    settings = Settings(database_url=url)
    await migrate(settings)
    agents = {user: agent_channel("acme", user) for user in (42, 43, 44, 45)}
    invites = [
        (channel, {"invite_id": f"inv_{user}", "user": user}) for user, channel in agents.items()
    ]
    ringer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RING_AND_DIE, settings.resolved_database_url(), orjson.dumps(invites)
    )
    assert await ringer.wait() == -signal.SIGKILL
    db = Database(settings.resolved_database_url())
    try:
        async with db.read() as conn:
            rows = (await conn.execute(sa.select(outbox.c.channels, outbox.c.published_at))).all()
        assert rows == [(list(agents.values()), None)]  # committed, never published

        port, env, ws_url = server_env(url)
        async with server_process(env, port):
            await _wait_listening(port)

            await eventually(lambda: all_published(db), within_s=30)
            for user, channel in agents.items():
                token = mint_connection_token(settings.realtime_hmac_secret, user, [channel], 3600)
                async with centrifuge_client(ws_url, token[0]) as (client, _):
                    await client.ready()
                    history = await client.history(channel, limit=-1)
                    # Each agent gets their own invite, once.
                    assert [p.data for p in history.publications] == [
                        {
                            "topic": "session.invite.upsert",
                            "data": {"invite_id": f"inv_{user}", "user": user},
                        }
                    ]
    finally:
        await db.dispose()
