"""Helpers for running a real Callpad server in tests: fresh databases, the app, an API client.

Used by this project's suites and by `farvex.testing`. PostgreSQL databases are created
with unique names on the server named by `CALLPAD_TEST_DATABASE_URL` and dropped after.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from fastapi import FastAPI

from .app import create_app
from .auth import mint_user_token
from .config import Settings
from .db.engine import Database
from .db.migrate import upgrade
from .domain import (
    DispatchPolicy,
    DispatchStrategy,
    Invitee,
    ParticipantKind,
    RecordingState,
    Role,
    Session,
    SipLegState,
    StateReason,
)
from .domain import dispatch as dispatch_steps
from .domain import transitions as t

__all__ = [
    "DEFAULT_TEST_POSTGRES_URL",
    "WALK_ACTIONS",
    "Api",
    "PostgresUnavailable",
    "create_postgres_database",
    "drop_postgres_database",
    "eventually",
    "fast_settings",
    "migrate",
    "postgres_database",
    "running_app",
    "walk_step",
]

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server answered at the test URL."""


def test_postgres_url() -> str:
    return os.environ.get("CALLPAD_TEST_DATABASE_URL") or DEFAULT_TEST_POSTGRES_URL


async def create_postgres_database(
    server_url: str | None = None, *, template: str | None = None
) -> str:
    """A new PostgreSQL database with a unique name (a copy of `template`, if given)."""
    name = f"callpad_test_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    server_url = await _admin_execute(server_url, f'CREATE DATABASE "{name}"{copy_of}')
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def drop_postgres_database(url: str) -> None:
    await _admin_execute(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@asynccontextmanager
async def postgres_database(
    server_url: str | None = None, *, template: str | None = None
) -> AsyncIterator[str]:
    """A new PostgreSQL database with a unique name, dropped on exit."""
    url = await create_postgres_database(server_url, template=template)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


async def _admin_execute(server_url: str | None, statement: str) -> str:
    """Run one statement on the server's `test_postgres_url()` database; return that URL."""
    import asyncpg

    server_url = (server_url or test_postgres_url()).replace("+asyncpg", "")
    admin_url = urlunsplit(
        urlsplit(test_postgres_url())._replace(netloc=urlsplit(server_url).netloc)
    )
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise PostgresUnavailable(f"PostgreSQL at {admin_url} is unreachable: {exc}") from exc
    try:
        await admin.execute(statement)
    finally:
        await admin.close()
    return admin_url


def fast_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: short polls and answer delays, so flows finish in milliseconds."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "timer_poll_interval_s": 0.02,
        "offline_answer_delay_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


async def migrate(settings: Settings) -> None:
    db = Database(settings.resolved_database_url())
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def database_name(url: str) -> str:
    """The database part of a PostgreSQL URL."""
    return urlsplit(url).path.lstrip("/")


@asynccontextmanager
async def running_app(settings: Settings, *, migrated: bool = False) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (workers, hub); migrates first unless `migrated`."""
    if not migrated:
        await migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def eventually(
    check: Callable[[], Any] | Callable[[], Awaitable[Any]], *, within_s: float = 15.0
) -> Any:
    """Poll `check()` (sync or async) until it is truthy, and return that; fails only on a
    hang, never on speed (for outcomes that follow media, timers or realtime)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached within {within_s} s")
        await asyncio.sleep(0.02)


class Api:
    """A thin HTTP client for tests: `await api.post(7, "/vendors/acme/sessions", json=...)`."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    @classmethod
    @asynccontextmanager
    async def in_process(cls, app: FastAPI, settings: Settings) -> AsyncIterator[Api]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://callpad") as client:
            yield cls(client, settings)

    def token(self, user_id: int, ttl_s: int | None = None) -> str:
        return mint_user_token(self.settings, user_id, ttl_s)

    def auth(self, user_id: int | None) -> dict[str, str]:
        if user_id is None:
            return {"Authorization": f"Bearer {self.settings.admin_key}"}
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    async def request(
        self,
        method: str,
        user_id: int | None,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`user_id=None` sends the admin key. Paths are under /api/v1 unless absolute."""
        url = (
            path
            if path.startswith(("/healthz", "/readyz", "/metrics", "/connection"))
            else ("/api/v1" + path)
        )
        return await self.client.request(
            method, url, headers={**self.auth(user_id), **(headers or {})}, **kwargs
        )

    async def get(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", user_id, path, **kwargs)

    async def post(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", user_id, path, **kwargs)

    async def put(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", user_id, path, **kwargs)

    async def patch(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", user_id, path, **kwargs)

    async def delete(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", user_id, path, **kwargs)

    async def create_vendor(
        self,
        slug: str,
        members: Mapping[int, str] | None = None,
        *,
        ring_timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A vendor with members (`{user_id: role}`), through the admin API."""
        body: dict[str, Any] = {"slug": slug, "name": slug.title()}
        if ring_timeout_s is not None:
            body["ring_timeout_s"] = ring_timeout_s
        created = await self.post(None, "/admin/vendors", json=body)
        created.raise_for_status()
        for user_id, role in (members or {}).items():
            put = await self.put(
                None, f"/admin/vendors/{slug}/members/{user_id}", json={"role": role}
            )
            put.raise_for_status()
        vendor: dict[str, Any] = created.json()
        return vendor


# -- random walks through the pure domain (property tests of the server and the SDK) -----

WALK_ACTIONS = (
    "accept",
    "reject",
    "leave",
    "cancel",
    "end",
    "hold",
    "unhold",
    "rename",
    "add_user",
    "add_phone",
    "remove",
    "start_recording",
    "stop_recording",
    "recording_active",
    "expire",
    "sip_answer",
    "sip_busy",
    "sip_hangup",
    "ring_team",
    "ring_team_sequential",
    "dispatch_step",
    "dispatch_timeout",
    "dequeue",
)
# Team agents a walk's dispatches may ring (and which are free at a step: see below).
_WALK_TEAM = (300, 301, 302, 303)
_WALK_ROLES = (Role.HOST, Role.AGENT, Role.CUSTOMER, Role.GUEST)


def walk_step(
    session: Session, action: str, who: int, other: int, n: int, now: datetime
) -> Session:
    """One step of a random walk: `action` (one of `WALK_ACTIONS`) by the participant at
    index `who`, on the one at `other` (both modulo their number); `n` makes new ids and
    names unique. Raises `DomainError` where the domain refuses, as the server would.
    Like the server, a step is followed by the next step of any dispatch it left with
    nobody ringing."""
    changed = _walk_action(session, action, who, other, n, now)
    if changed is session:
        return session
    for d in dispatch_steps.needing_agents(changed):
        changed = t.advance_dispatch(session, changed, d.id, _free(n + 1), _ids(n + 1), now)
    return changed


def _walk_action(
    session: Session, action: str, who: int, other: int, n: int, now: datetime
) -> Session:
    pids = [p.id for p in session.participants]
    actor, target = pids[who % len(pids)], pids[other % len(pids)]
    live = session.live_recording
    match action:
        case "accept" | "reject" | "leave" | "cancel" | "end" | "hold" | "unhold":
            step = getattr(t, action)
            changed: Session = step(session, actor, now)
            return changed
        case "rename":
            return t.rename(session, actor, f"name {n}", now)
        case "add_user":
            invitee = Invitee(ParticipantKind.USER, _WALK_ROLES[n % 4], user_id=200 + n)
            return t.add_participant(session, actor, f"par_u{n}", invitee, now)
        case "add_phone":
            phone = Invitee(ParticipantKind.PHONE, Role.GUEST, phone=f"+1202555{n:04d}")
            return t.add_participant(session, actor, f"par_p{n}", phone, now)
        case "remove":
            return t.remove_participant(session, actor, target, now)
        case "start_recording":
            return t.start_recording(session, actor, f"rec_{n}", now)
        case "stop_recording":
            return t.stop_recording(session, actor, live.id if live else "rec_none", now)
        case "recording_active":
            if live is None:
                return session
            return t.recording_update(session, live.id, RecordingState.ACTIVE, now)
        case "expire":
            return t.expire_invite(session, target, now + timedelta(hours=1))
        case "sip_answer":
            return t.sip_leg_update(session, target, SipLegState.ANSWERED, now)
        case "sip_busy":
            return t.sip_leg_update(
                session, target, SipLegState.FAILED, now, reason=StateReason.BUSY
            )
        case "sip_hangup":
            return t.sip_leg_update(session, target, SipLegState.ENDED, now)
        case "ring_team" | "ring_team_sequential":
            # A host escalates to a team; the first step rings whoever of it is free
            # (none at all every third time: the dispatch queues).
            strategy = (
                DispatchStrategy.SEQUENTIAL
                if action == "ring_team_sequential"
                else DispatchStrategy.PARALLEL
            )
            policy = DispatchPolicy(strategy=strategy, max_rounds=1 + n % 2)
            opened = t.add_team(session, actor, f"dsp_{n}", f"team{n % 2}", policy, now)
            return t.advance_dispatch(session, opened, f"dsp_{n}", _free(n), _ids(n), now)
        case "dispatch_step":
            # Whatever the service would do next for an open dispatch.
            for d in session.open_dispatches:
                return t.advance_dispatch(session, session, d.id, _free(n), _ids(n), now)
            return session
        case "dispatch_timeout":
            for d in session.open_dispatches:
                return t.expire_dispatch(session, d.id, now + timedelta(hours=1))
            return session
        case "dequeue":
            for d in session.open_dispatches:
                dequeued = t.dequeue_dispatch(session, d.id, now)
                return t.advance_dispatch(session, dequeued, d.id, _free(n), _ids(n), now)
            return session
    raise ValueError(f"unknown walk action {action!r}")


def _free(n: int) -> list[int]:
    """The team agents free at step `n`: all, some, or none."""
    return list(_WALK_TEAM[: (n * 7) % (len(_WALK_TEAM) + 1)])


def _ids(n: int) -> Iterator[str]:
    return (f"par_d{n}_{i}" for i in range(len(_WALK_TEAM) * 2))
