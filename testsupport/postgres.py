"""Fresh PostgreSQL databases for tests: unique names on the server named by
`CALLPAD_TEST_DATABASE_URL`, dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_TEST_POSTGRES_URL",
    "PostgresUnavailable",
    "create_postgres_database",
    "database_name",
    "drop_postgres_database",
    "postgres_database",
    "test_postgres_url",
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


def database_name(url: str) -> str:
    """The database part of a PostgreSQL URL."""
    return urlsplit(url).path.lstrip("/")
