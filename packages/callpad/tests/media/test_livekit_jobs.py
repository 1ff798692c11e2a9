"""Media commands when LiveKit stops answering: the call waits outside any transaction, so
the server's other changes go on; it is abandoned after `MEDIA_CALL_TIMEOUT_S`, noted on
its job, and tried again until LiveKit answers. LiveKit's API is reached through a proxy
that can stop passing connections on."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from callpad import workers
from callpad.db.engine import Database
from callpad.db.tables import media_jobs

from testsupport.api import eventually
from testsupport.proxy import TcpProxy
from testsupport.servers import LiveKitServer

from .conftest import AGENT, CUSTOMER, running_callpad

CALL_TIMEOUT_S = 5.0


@pytest.fixture
async def database(fresh_database: Path) -> AsyncIterator[Database]:
    """The test's Callpad database, read directly to see its media jobs."""
    db = Database(f"sqlite+aiosqlite:///{fresh_database}")
    yield db
    await db.dispose()


async def close_room_jobs(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(media_jobs).order_by(media_jobs.c.id))
    jobs = [dict(row._mapping) for row in rows]
    return [job for job in jobs if job["body"].get("command", {}).get("action") == "close_room"]


async def test_a_call_livekit_does_not_answer_holds_up_nothing_and_is_retried(
    livekit_server: LiveKitServer,
    fresh_database: Path,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workers, "MEDIA_CALL_TIMEOUT_S", CALL_TIMEOUT_S)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with (
            TcpProxy(livekit_server.port) as proxy,
            running_callpad(
                livekit_server,
                fresh_database,
                sock,
                tmp_path,
                livekit_api_url=f"http://127.0.0.1:{proxy.port}",
            ) as callpad,
        ):
            started = await callpad.start_call(AGENT, {"type": "customer", "user_id": CUSTOMER})
            room = started["session"]["room"]
            assert await callpad.room_exists(room)

            # LiveKit stops answering: connections open, nothing reaches it.
            proxy.drop()
            proxy.hold()
            held = proxy.accepted
            path = f"/vendors/acme/sessions/{started['session']['id']}"
            assert (await callpad.http.post(AGENT, path + "/cancel")).status_code == 200
            await eventually(lambda: proxy.accepted > held)  # the room's close is under way

            # Meanwhile other changes commit, while that first call still waits.
            available = await callpad.http.put(
                AGENT, "/vendors/acme/presence/me", json={"status": "available"}
            )
            assert available.status_code == 200, available.text
            assert proxy.accepted == held + 1
            assert await callpad.room_exists(room)

            # No answer in time: the attempt is noted and the job is due again.
            async def timed_out() -> dict[str, Any] | None:
                [job] = await close_room_jobs(database)
                return (
                    job if job["last_error"] == f"no answer within {CALL_TIMEOUT_S:g} s" else None
                )

            failed = await eventually(timed_out, within_s=CALL_TIMEOUT_S + 15)
            assert failed["done_at"] is None

            # LiveKit answers again: a retry closes the room, and the job is done.
            proxy.release()

            async def retried() -> dict[str, Any] | None:
                [job] = await close_room_jobs(database)
                return job if job["done_at"] else None

            done = await eventually(retried, within_s=30)
            assert done["attempts"] >= 2
            assert not await callpad.room_exists(room)
