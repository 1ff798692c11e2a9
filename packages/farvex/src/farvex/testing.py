"""farvex.testing: a real Callpad server for your tests, and a pytest plugin around it.

Install the `testing` extra (`farvex[testing]`: the Callpad server and pytest-asyncio). The
plugin is registered as a `pytest11` entry point, so its fixtures are available as soon as
farvex is installed; it imports the server only when a fixture asks for it.

    async def test_support_answers(callpad_server: CallpadServer) -> None:
        await callpad_server.create_vendor("acme", {42: "owner"})
        customer = await callpad_server.session_client(7, connect=True)
        agent = await callpad_server.host_client("acme", 42, connect=True)
        await customer.sessions.start(vendor="acme", target={"type": "vendor_user", "user_id": 42})
        invite = await agent.invites.next()
        await agent.invites.accept(invite)

Fixtures:

`callpad_server`     a `CallpadServer` on 127.0.0.1 with a fresh SQLite database, per test
`callpad_settings`   overrides of the server's Settings (override this fixture to change
                     them, e.g. `{"default_ring_timeout_s": 1}`); tests get short timers

An `async def` test that uses `callpad_server` runs on asyncio with no configuration: the
plugin marks it for pytest-asyncio, whatever the project's `asyncio_mode`.

`eventually(check)` polls until a check is true; `wait_for(client, predicate)` waits until
a predicate of a client's store is true (woken by the store's changes, no polling).

Without a server, `publish(client, *publications)` hands a client realtime publications
(`{"topic": ..., "data": ...}`, as the server sends them) and `await handlers_done(client)`
returns once every event handler they caused has run: for unit tests of an app's reactions.

Outside pytest, `running_server()` is the same server as an async context manager (the
`make demo` script uses it). The server runs `offline` media: the numbers of docs/media.md
(+12025550100 answers after `offline_answer_delay_s`) and recordings that go active.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from ._client import HostClient, SessionClient, create_host_client, create_session_client
from ._http import Auth

if TYPE_CHECKING:
    from callpad.config import Settings
    from callpad.realtime.hub import Hub
    from fastapi import FastAPI

__all__ = [
    "CallpadServer",
    "callpad_server",
    "callpad_settings",
    "eventually",
    "handlers_done",
    "publish",
    "running_server",
    "wait_for",
]

C = TypeVar("C", bound=SessionClient)
T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T | None] | None],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
) -> T:
    """Poll `check()` (sync or async) until it returns something truthy, and return that.
    Raises AssertionError after `timeout` seconds: for outcomes that follow realtime,
    timers or media, where a test must wait but never fail on speed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        value: T | None = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check!r}")
        await asyncio.sleep(interval)


def publish(
    client: SessionClient, *publications: Mapping[str, Any], channel: str | None = None
) -> None:
    """Apply realtime publications to `client`'s store as its connection would, in order.
    `channel` is the channel they arrive on: a vendor feed (`vendor:<slug>`) makes the
    client one that reads that feed, as an owner's or admin's realtime grant does."""
    realtime = client._realtime
    if channel is not None and channel.startswith("vendor:"):
        realtime.note_feed(channel)
    for publication in publications:
        realtime.apply(publication)


async def handlers_done(client: SessionClient) -> None:
    """Return once every event handler the client's store changes have called has run."""
    await client._emitter.drain()


async def wait_for(client: C, predicate: Callable[[C], T | None], *, timeout: float = 10.0) -> T:
    """Wait until `predicate(client)` is truthy and return it, re-checked whenever the
    client's store changes. Raises AssertionError after `timeout` seconds.

        session = await wait_for(agent, lambda c: c.sessions.get(session_id))
    """
    try:
        async with asyncio.timeout(timeout):
            async for value in client.watch(predicate):
                if value:
                    return value
    except TimeoutError:
        pass
    raise AssertionError(f"not true within {timeout} s: {predicate!r}")


class CallpadServer:
    """A Callpad server running in this process, and helpers to drive it.

    Clients made by `session_client` / `host_client` are disposed when the server stops.
    """

    def __init__(self, app: FastAPI, settings: Settings, base_url: str) -> None:
        self.app = app
        self.settings = settings
        self.base_url = base_url
        self._http = httpx.AsyncClient(base_url=base_url, trust_env=False)
        self._clients: list[SessionClient] = []
        # Clients made here join LiveKit rooms only when asked: the test server's media is
        # offline and its grants name a LiveKit that usually is not running. Set it True
        # (or pass join_media=True) when `livekit_url` points at a real livekit-server.
        self.joins_media = False

    # Users and tokens

    def token(self, user_id: int, ttl_s: int | None = None) -> str:
        """A user's bearer token, signed with the server's dev secret."""
        from callpad.auth import mint_user_token

        return mint_user_token(self.settings, user_id, ttl_s)

    def auth(self, user_id: int) -> Auth:
        """An `Auth` that hands out the user's token."""
        return Auth(get_access_token=lambda: self.token(user_id))

    async def request(
        self, method: str, user_id: int | None, path: str, **kwargs: Any
    ) -> httpx.Response:
        """A raw API call under /api/v1 as `user_id` (None: the operator's admin key)."""
        bearer = self.settings.admin_key if user_id is None else self.token(user_id)
        headers = {"Authorization": f"Bearer {bearer}", **kwargs.pop("headers", {})}
        return await self._http.request(method, "/api/v1" + path, headers=headers, **kwargs)

    async def _ok(self, method: str, user_id: int | None, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, user_id, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    async def create_vendor(
        self,
        slug: str,
        members: Mapping[int, str] | None = None,
        *,
        ring_timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A vendor with members `{user_id: "owner" | "admin" | "agent"}`."""
        body: dict[str, Any] = {"slug": slug, "name": slug.title()}
        if ring_timeout_s is not None:
            body["ring_timeout_s"] = ring_timeout_s
        vendor: dict[str, Any] = await self._ok("POST", None, "/admin/vendors", json=body)
        for user_id, role in (members or {}).items():
            await self.add_member(slug, user_id, role)
        return vendor

    async def add_member(self, vendor: str, user_id: int, role: str = "agent") -> None:
        path = f"/admin/vendors/{vendor}/members/{user_id}"
        await self._ok("PUT", None, path, json={"role": role})

    async def create_contact(
        self, vendor: str, as_user: int, name: str, phone: str, user_id: int | None = None
    ) -> dict[str, Any]:
        """An address-book entry, created by `as_user` (an owner or admin)."""
        body: dict[str, Any] = {"name": name, "phone": phone}
        if user_id is not None:
            body["user_id"] = user_id
        contact: dict[str, Any] = await self._ok(
            "POST", as_user, f"/vendors/{vendor}/contacts", json=body
        )
        return contact

    async def create_team(
        self, vendor: str, as_user: int, team: str, members: list[int], **settings: Any
    ) -> dict[str, Any]:
        """A team with `members` in ring order and dispatch `settings` (strategy,
        ring_order, batch_size, timeouts, ...), created by `as_user` (an owner or admin)."""
        body = {"members": members, **settings}
        created: dict[str, Any] = await self._ok(
            "PUT", as_user, f"/vendors/{vendor}/teams/{team}", json=body
        )
        return created

    async def set_presence(self, vendor: str, user_id: int, status: str = "available") -> None:
        """Set a member's presence (only `available` members are rung by team calls)."""
        await self._ok("PUT", user_id, f"/vendors/{vendor}/presence/me", json={"status": status})

    # What the server says, for comparing with a client's store

    async def sessions_of(self, user_id: int, vendor: str | None = None) -> list[dict[str, Any]]:
        """The live sessions the user sees: GET /me/sessions, or the vendor's list (every
        page)."""
        return await self._every_page(
            user_id, f"/vendors/{vendor}/sessions" if vendor else "/me/sessions", "sessions"
        )

    async def invites_of(self, user_id: int, vendor: str | None = None) -> list[dict[str, Any]]:
        """The user's pending invites (every page)."""
        path = f"/vendors/{vendor}/invites" if vendor else "/me/invites"
        return await self._every_page(user_id, path, "invites")

    async def _every_page(self, user_id: int, path: str, key: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 200}
        while True:
            body = await self._ok("GET", user_id, path, params=params)
            found += body[key]
            if body["next_cursor"] is None:
                return found
            params["cursor"] = body["next_cursor"]

    # Clients

    async def session_client(
        self, user_id: int, *, connect: bool = False, **kwargs: Any
    ) -> SessionClient:
        kwargs.setdefault("join_media", self.joins_media)
        client = create_session_client(
            api_url=self.base_url, user_id=user_id, auth=self.auth(user_id), **kwargs
        )
        self._clients.append(client)
        if connect:
            await client.connect()
        return client

    async def host_client(
        self, vendor: str, user_id: int, *, connect: bool = False, **kwargs: Any
    ) -> HostClient:
        kwargs.setdefault("join_media", self.joins_media)
        client = create_host_client(
            api_url=self.base_url, vendor=vendor, user_id=user_id, auth=self.auth(user_id), **kwargs
        )
        self._clients.append(client)
        if connect:
            await client.connect()
        return client

    # Realtime faults

    @property
    def hub(self) -> Hub:
        hub: Hub | None = self.app.state.ctx.hub
        assert hub is not None, "the embedded hub runs only in realtime_mode=embedded"
        return hub

    def drop_realtime(self, user_id: int | None = None) -> int:
        """Close the realtime connections of `user_id` (everyone's when None), as a network
        failure would; clients reconnect by themselves. Returns how many were closed."""
        from callpad.realtime.protocol import Disconnect

        if user_id is not None:
            return self.hub.disconnect(user_id, Disconnect.FORCE_RECONNECT)
        users = list(self.hub.connected_users())
        return sum(self.hub.disconnect(u, Disconnect.FORCE_RECONNECT) for u in users)

    @asynccontextmanager
    async def realtime_outage(self) -> AsyncIterator[None]:
        """While inside, the hub refuses connections and every client is cut off; what is
        published meanwhile reaches clients only by recovery or by their HTTP re-sync."""
        self.hub.accepting = False
        self.drop_realtime()
        try:
            yield
        finally:
            self.hub.accepting = True

    async def aclose(self) -> None:
        for client in self._clients:
            await client.dispose()
        await self._http.aclose()


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _migrated_copy(directory: Path, template: Path | None) -> Path:
    """A migrated SQLite database in `directory` (copied from `template` when given)."""
    from callpad.testing import fast_settings, migrate

    path = directory / "callpad.db"
    if template is not None:
        shutil.copyfile(template, path)
    else:
        await migrate(fast_settings(f"sqlite:///{path}"))
    return path


@asynccontextmanager
async def running_server(
    directory: Path | None = None, *, template: Path | None = None, **overrides: Any
) -> AsyncIterator[CallpadServer]:
    """A Callpad server (uvicorn, in this process) on a free 127.0.0.1 port, with a fresh
    SQLite database in `directory` (a temporary one by default). `overrides` are Settings."""
    import uvicorn
    from callpad.app import create_app
    from callpad.realtime.runtime import hub_websocket_protocol
    from callpad.testing import fast_settings

    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = await _migrated_copy(directory, template)
        sock = stack.enter_context(_loopback_socket())
        port = sock.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        values: dict[str, Any] = {
            "public_url": base_url,
            "realtime_relay_poll_interval_s": 0.05,
            "data_dir": directory,
        }
        values.update(overrides)
        settings = fast_settings(f"sqlite:///{database}", **values)
        app = create_app(settings)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", ws=hub_websocket_protocol(app)
        )
        server = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(30):
                while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
                    await asyncio.sleep(0.01)
            if task.done():
                task.result()
            callpad = CallpadServer(app, settings, base_url)
            try:
                yield callpad
            finally:
                await callpad.aclose()
        finally:
            server.should_exit = True
            await task


# The pytest plugin

_OUR_FIXTURES = frozenset({"callpad_server"})


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark `async def` tests that use our fixtures for pytest-asyncio, so they run in any
    project (pytest-asyncio's default strict mode would refuse them as "not natively
    supported"). Runs before pytest-asyncio's own collection hook reads the marks."""
    if not (inspect.iscoroutinefunction(obj) and collector.funcnamefilter(name)):  # type: ignore[attr-defined]
        return
    if _OUR_FIXTURES.isdisjoint(inspect.signature(obj).parameters):
        return
    if not any(mark.name == "asyncio" for mark in getattr(obj, "pytestmark", [])):
        pytest.mark.asyncio(obj)


@pytest.fixture(scope="session")
def callpad_template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that each `callpad_server` starts from (a copy)."""
    directory = tmp_path_factory.mktemp("callpad-template")
    # Session fixtures are set up while a test's event loop may be running: migrate on a
    # loop of our own, in another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _migrated_copy(directory, None)).result()


@pytest.fixture
def callpad_settings() -> dict[str, Any]:
    """Settings overrides for `callpad_server`; override this fixture to change them."""
    return {}


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the plugin's async fixture needs pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def callpad_server(
        tmp_path: Path, callpad_settings: dict[str, Any], callpad_template_database: Path
    ) -> AsyncIterator[CallpadServer]:
        """A Callpad server for this test, on a fresh SQLite database."""
        async with running_server(
            tmp_path, template=callpad_template_database, **callpad_settings
        ) as server:
            yield server
