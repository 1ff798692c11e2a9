"""Callpad with `CALLPAD_MEDIA=livekit` against the real livekit-server, served by uvicorn on
a real loopback port (LiveKit posts its webhooks there), and a call between a customer
and an agent whose `livekit` clients publish tones of their own frequencies."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from callpad.app import create_app
from callpad.config import Settings
from callpad.testing import fast_settings
from livekit import api

from testsupport.api import Api
from testsupport.hangs import StepHung, task_stacks, tasks_shown_before_the_timeout
from testsupport.servers import LiveKitServer, run_livekit
from testsupport.voice import ToneParty

CUSTOMER, AGENT, AGENT_2, AGENT_3 = 7, 42, 43, 44
CUSTOMER_HZ, AGENT_HZ, AGENT_2_HZ, AGENT_3_HZ = 440.0, 880.0, 1320.0, 1760.0


@pytest.fixture(autouse=True)
async def _tasks_shown_on_a_hang(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A test that hangs shows, before pytest-timeout fails it, the await each task is in."""
    with tasks_shown_before_the_timeout(request.node):
        yield


@dataclass
class Callpad:
    """A served Callpad on LiveKit media, with an API client and a LiveKit admin client."""

    settings: Settings
    http: Api
    livekit: LiveKitServer
    lk: api.LiveKitAPI
    parties: list[ToneParty] = field(default_factory=list)

    async def start_call(self, caller: int, target: dict[str, Any]) -> dict[str, Any]:
        started = await self.http.post(caller, "/vendors/acme/sessions", json={"target": target})
        assert started.status_code == 201, started.text
        body: dict[str, Any] = started.json()
        return body

    async def accept(self, user_id: int, session: dict[str, Any]) -> dict[str, Any]:
        invited = next(
            p
            for p in session["participants"]
            if p["user_id"] == user_id and p["state"] == "invited"
        )
        accepted = await self.http.post(
            user_id, f"/vendors/acme/sessions/{session['id']}/participants/{invited['id']}/accept"
        )
        assert accepted.status_code == 200, accepted.text
        body: dict[str, Any] = accepted.json()
        return body

    async def join(self, name: str, freq: float, grant: dict[str, Any]) -> ToneParty:
        party = ToneParty(name, freq)
        self.parties.append(party)
        await party.join(grant["url"], grant["token"])
        return party

    async def room_exists(self, room: str) -> bool:
        listed = await self.lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
        return any(r.name == room for r in listed.rooms)

    async def in_room(self, room: str) -> set[str]:
        try:
            listed = await self.lk.room.list_participants(api.ListParticipantsRequest(room=room))
        except api.TwirpError as error:
            if error.code == api.TwirpErrorCode.NOT_FOUND:
                return set()
            raise
        return {p.identity for p in listed.participants}


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serve(settings: Settings, sock: socket.socket) -> AsyncIterator[str]:
    """Serve the app on `sock` with uvicorn in this loop; yields its base URL."""
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.01)
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await _stopped(task)


# uvicorn waits, unbounded, for the requests in flight and then for the app's lifespan.
# Bounded well inside pytest-timeout's 120 s, after a test's other bounded steps.
_SHUTDOWN_S = 20.0


async def _stopped(serving: asyncio.Task[None]) -> None:
    """Wait for uvicorn to stop; if it does not, fail with what every task is waiting for."""
    done, _ = await asyncio.wait({serving}, timeout=_SHUTDOWN_S)
    if serving in done:
        serving.result()
        return
    waiting = task_stacks()
    serving.cancel()
    await asyncio.wait({serving}, timeout=5)
    raise StepHung(
        f"uvicorn's shutdown (the requests in flight, then the app's lifespan) did not"
        f" finish in {_SHUTDOWN_S:g} s; the tasks then:\n{waiting}"
    )


@contextlib.asynccontextmanager
async def running_callpad(
    livekit: LiveKitServer, database: Path, sock: socket.socket, data_dir: Path, **overrides: Any
) -> AsyncIterator[Callpad]:
    settings = fast_settings(
        f"sqlite:///{database}",
        media="livekit",
        livekit_url=livekit.url,
        livekit_api_key=livekit.api_key,
        livekit_api_secret=livekit.api_secret,
        data_dir=data_dir,
        **overrides,
    )
    async with (
        serve(settings, sock) as base_url,
        httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30) as client,
        api.LiveKitAPI(livekit.http_url, livekit.api_key, livekit.api_secret) as lk,
    ):
        http = Api(client, settings)
        await http.create_vendor(
            "acme", {AGENT: "agent", AGENT_2: "agent", AGENT_3: "agent"}, ring_timeout_s=60
        )
        callpad = Callpad(settings, http, livekit, lk)
        try:
            yield callpad
        finally:
            await asyncio.gather(*(p.leave() for p in callpad.parties))


@pytest.fixture
def fresh_database(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "callpad.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
async def callpad(
    livekit_server: LiveKitServer, fresh_database: Path, tmp_path: Path
) -> AsyncIterator[Callpad]:
    """Callpad on the shared livekit-server (no webhooks)."""
    with _loopback_socket() as sock:
        async with running_callpad(livekit_server, fresh_database, sock, tmp_path) as running:
            yield running


@pytest.fixture
def webhook_socket() -> Iterator[socket.socket]:
    with _loopback_socket() as sock:
        yield sock


@pytest.fixture
def livekit_with_webhooks(webhook_socket: socket.socket, tmp_path: Path) -> Iterator[LiveKitServer]:
    """A livekit-server of its own that posts its webhooks to this test's Callpad."""
    port = webhook_socket.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/webhooks/livekit"
    with run_livekit(tmp_path / "livekit", webhook_urls=[url]) as server:
        yield server


@pytest.fixture
async def callpad_with_webhooks(
    livekit_with_webhooks: LiveKitServer,
    webhook_socket: socket.socket,
    fresh_database: Path,
    tmp_path: Path,
) -> AsyncIterator[Callpad]:
    async with running_callpad(
        livekit_with_webhooks, fresh_database, webhook_socket, tmp_path
    ) as running:
        yield running
