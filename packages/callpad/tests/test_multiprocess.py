"""Real `callpad serve` processes: races across processes and ring timeouts across restarts.

Two server processes on one PostgreSQL must act as one server: one accept wins however
the requests are spread, and an invite pending while every server is down expires once,
after they come back. On SQLite (one process) the timeout survives a restart too.
Starting a server costs seconds, so each test starts as few as it can.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from callpad.config import to_async_url
from callpad.db.engine import Database
from callpad.db.tables import invites, outbox, sessions
from callpad.realtime.outbox import stored_events
from callpad.testing import fast_settings, migrate

from testsupport import processes
from testsupport.api import Api, eventually
from testsupport.processes import CallpadProcess

from .conftest import AGENT, CUSTOMER, ring

pytestmark = pytest.mark.slow

ROUNDS = 25
POLL_S = 0.02
RING_TIMEOUT_S = 3.0


def serving(database_url: str, workdir: Path, count: int) -> Any:
    """`count` server processes on one database, started together, stopped on exit."""
    env = {"CALLPAD_TIMER_POLL_INTERVAL_S": str(POLL_S), "CALLPAD_OFFLINE_ANSWER_DELAY_S": "0.05"}
    return processes.serving(database_url, workdir, [env] * count)


@contextlib.asynccontextmanager
async def client_for(server: CallpadProcess, database_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client:
        yield Api(client, fast_settings(database_url))


class Store:
    """Reads the database the servers share, as the test's own witness."""

    def __init__(self, database_url: str) -> None:
        self.db = Database(to_async_url(database_url))

    async def close(self) -> None:
        await self.db.dispose()

    async def session(self, sid: str) -> tuple[int, str]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(sessions.c.version, sessions.c.state).where(sessions.c.id == sid)
                )
            ).one()
        return row.version, row.state

    async def invite_state(self, pid: str) -> str:
        async with self.db.read() as conn:
            state: str = (
                await conn.execute(
                    sa.select(invites.c.state).where(invites.c.participant_id == pid)
                )
            ).scalar_one()
        return state

    async def session_of(self, pid: str) -> str:
        async with self.db.read() as conn:
            sid: str = (
                await conn.execute(
                    sa.select(invites.c.session_id).where(invites.c.participant_id == pid)
                )
            ).scalar_one()
        return sid

    async def events(self, sid: str) -> list[tuple[str, Any]]:
        """(topic, version or invite state) of the session's outbox rows, in commit order."""
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(
                    outbox.c.topic, outbox.c.channels, outbox.c.data, outbox.c.fanned_out
                ).order_by(outbox.c.id)
            )
            events = [(t, d) for row in rows for t, _, d in stored_events(*row)]
        found: list[tuple[str, Any]] = []
        for topic, data in events:
            if topic == "session.upsert" and data["id"] == sid:
                found.append((topic, data["version"]))
            elif topic == "session.invite.remove" and data["session_id"] == sid:
                found.append((topic, data["state"]))
        return found


@pytest.fixture
async def store_factory() -> AsyncIterator[Callable[[str], Store]]:
    stores: list[Store] = []

    def make(database_url: str) -> Store:
        stores.append(Store(database_url))
        return stores[-1]

    yield make
    for store in stores:
        await store.close()


async def race_accepts(api_a: Api, api_b: Api, store: Store) -> None:
    """One user, two devices, each talking to a different server process, many rounds."""
    for round_ in range(ROUNDS):
        sid, pid = await ring(api_a if round_ % 2 else api_b, "acme")
        path = f"/vendors/acme/sessions/{sid}/participants/{pid}/accept"
        responses = await asyncio.gather(api_a.post(AGENT, path), api_b.post(AGENT, path))
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["code"] == "invite_not_pending"
        winner = next(r for r in responses if r.status_code == 200).json()["session"]
        assert (winner["state"], winner["version"]) == ("active", 2)
        seen = (await api_b.get(CUSTOMER, f"/vendors/acme/sessions/{sid}")).json()
        assert seen == winner
        assert await store.session(sid) == (2, "active")
        assert await store.events(sid) == [
            ("session.upsert", 1),
            ("session.upsert", 2),
            ("session.invite.remove", "accepted"),
        ]


async def ring_then_stop(database_url: str, workdir: Path, store: Store, processes: int) -> str:
    """Ring with a ring timeout, then stop every server (SIGTERM) before it is due.

    Returns the rung participant's id.
    """
    async with (
        serving(database_url, workdir, processes) as servers,
        client_for(servers[0], database_url) as api,
    ):
        await api.create_vendor("acme", {AGENT: "agent"}, ring_timeout_s=RING_TIMEOUT_S)
        sid, pid = await ring(api, "acme")
    # Every server is down. The invite must still be pending for the test to mean anything.
    assert await store.invite_state(pid) == "pending"
    assert await store.session(sid) == (1, "ringing")
    return pid


async def assert_expired_once(api: Api, store: Store, pid: str) -> None:
    """The ring timed out exactly once: one version bump, one invite removal."""

    async def expired() -> bool:
        return await store.invite_state(pid) != "pending"

    await eventually(expired, within_s=RING_TIMEOUT_S + 30)
    # Give every worker many more polls in which a second expiry would show.
    await asyncio.sleep(25 * POLL_S)
    sid = await store.session_of(pid)
    view = (await api.get(CUSTOMER, f"/vendors/acme/sessions/{sid}")).json()
    agent = next(p for p in view["participants"] if p["id"] == pid)
    assert (agent["state"], agent["state_reason"]) == ("withdrawn", "timeout")
    assert (view["state"], view["end_reason"], view["version"]) == ("ended", "missed", 2)
    assert await store.session(sid) == (2, "ended")
    assert await store.invite_state(pid) == "withdrawn"
    assert await store.events(sid) == [
        ("session.upsert", 1),
        ("session.upsert", 2),
        ("session.invite.remove", "withdrawn"),
    ]


@pytest.mark.postgres
async def test_two_processes_on_one_postgres_have_one_winner_and_expire_once_after_restart(
    postgres_url: str, tmp_path: Path, store_factory: Callable[[str], Store]
) -> None:
    store = store_factory(postgres_url)
    # One process rings; the restart brings up two, which both poll for the due ring.
    ringing = await ring_then_stop(postgres_url, tmp_path, store, processes=1)
    async with (
        serving(postgres_url, tmp_path, 2) as (first, second),
        client_for(first, postgres_url) as api_a,
        client_for(second, postgres_url) as api_b,
    ):
        # Both restarted processes poll for due rings while they serve racing accepts.
        await race_accepts(api_a, api_b, store)
        await assert_expired_once(api_b, store, ringing)


async def test_ring_timeout_survives_a_restart_on_sqlite(
    tmp_path: Path, store_factory: Callable[[str], Store]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'callpad.db'}"
    await migrate(fast_settings(database_url))
    store = store_factory(database_url)
    ringing = await ring_then_stop(database_url, tmp_path, store, processes=1)
    async with (
        serving(database_url, tmp_path, 1) as (server,),
        client_for(server, database_url) as api,
    ):
        await assert_expired_once(api, store, ringing)
