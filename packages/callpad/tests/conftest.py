"""Fixtures: every app test runs on SQLite and on PostgreSQL.

Migrations run once per test run into a template (a SQLite file, a PostgreSQL template
database); each test gets a fresh copy of it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from callpad.config import Settings
from callpad.testing import fast_settings, migrate
from fastapi import FastAPI

from testsupport.api import Api, running_app
from testsupport.postgres import (
    PostgresUnavailable,
    create_postgres_database,
    database_name,
    drop_postgres_database,
    postgres_database,
)

T = TypeVar("T")

# Who the suites' calls are between: a customer, and vendor "acme"'s owner and two agents.
CUSTOMER, OWNER, AGENT, OTHER_AGENT = 7, 1, 42, 43


def run_aside(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on its own loop in another thread (session fixtures are
    set up while a test's loop is already running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "callpad.db"
    run_aside(migrate(fast_settings(f"sqlite:///{path}")))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | PostgresUnavailable]:
    """A migrated template database, or why PostgreSQL cannot be used."""
    try:
        url = run_aside(create_postgres_database())
    except PostgresUnavailable as exc:
        yield exc
        return
    try:
        run_aside(migrate(fast_settings(url)))
        yield database_name(url)
    finally:
        run_aside(drop_postgres_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "callpad.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    template = _usable(request.getfixturevalue("postgres_template"))
    async with postgres_database(template=template) as url:
        yield url


@pytest.fixture
async def postgres_url(postgres_template: str | PostgresUnavailable) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database, for what only PostgreSQL can show."""
    async with postgres_database(template=_usable(postgres_template)) as url:
        yield url


def _usable(template: str | PostgresUnavailable) -> str:
    """The template's name; in CI a missing PostgreSQL fails the test, elsewhere skips it."""
    if isinstance(template, PostgresUnavailable):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {template}")
        pytest.skip(f"PostgreSQL tests skipped: {template}")
    return template


@pytest.fixture
def settings(database_url: str) -> Settings:
    return fast_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings, migrated=True) as app:
        yield app


@pytest.fixture
async def api(app: FastAPI, settings: Settings) -> AsyncIterator[Api]:
    async with Api.in_process(app, settings) as client:
        yield client


@pytest.fixture
async def acme(api: Api) -> dict[str, Any]:
    """The vendor "acme": OWNER owns it, AGENT and OTHER_AGENT take its calls."""
    return await api.create_vendor("acme", {OWNER: "owner", AGENT: "agent", OTHER_AGENT: "agent"})


def participant(session: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The user's one participant in a session's view."""
    found = [p for p in session["participants"] if p["user_id"] == user_id]
    assert len(found) == 1, session
    one: dict[str, Any] = found[0]
    return one


async def ring(
    api: Api, vendor: str = "acme", caller: int = CUSTOMER, callee: int = AGENT
) -> tuple[str, str]:
    """`caller` rings `callee` in the vendor's app: the session id and the callee's
    participant id."""
    started = await api.post(
        caller,
        f"/vendors/{vendor}/sessions",
        json={"target": {"type": "vendor_user", "user_id": callee}},
    )
    assert started.status_code == 201, started.text
    session = started.json()["session"]
    return session["id"], participant(session, callee)["id"]
