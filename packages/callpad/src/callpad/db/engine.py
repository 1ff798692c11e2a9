"""The database handle: one async engine, write transactions that serialise per session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["Database", "json_dumps", "json_loads"]


# JSON columns (session documents, outbox events, media jobs) go through orjson: every
# write encodes a document and every read decodes one, and orjson is several times faster
# than the standard library at both. Values it does not know are stored as `str(value)`.
def json_dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def json_loads(text: str | bytes) -> Any:
    return orjson.loads(text)


class Database:
    """Owns the engine. `write()` and `read()` each give a connection inside one transaction.

    On SQLite, write transactions start with `BEGIN IMMEDIATE`, so concurrent writers queue
    on the database lock instead of failing on upgrade, and this process's writers queue
    first on an asyncio lock, so the database lock passes from one to the next at once;
    PostgreSQL writers lock the rows they change (`SELECT ... FOR UPDATE` in the
    repositories).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {
            "echo": echo,
            "json_serializer": json_dumps,
            "json_deserializer": json_loads,
        }
        if self.is_sqlite:
            options["connect_args"] = {"timeout": 30}
        else:
            options["pool_size"] = 20
            options["max_overflow"] = 10
        self.engine: AsyncEngine = create_async_engine(url, **options)
        # SQLite has one writer at a time. Queueing this process's writers here, in order,
        # hands the lock over at once; left to SQLite's busy handler, waiters poll it with
        # growing sleeps while it stands free, and throughput collapses under concurrency.
        self._sqlite_writer: asyncio.Lock | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            self._sqlite_writer = asyncio.Lock()

    @asynccontextmanager
    async def write(
        self, *, on_commit: Callable[[], None] | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction. `on_commit` runs once it has committed, before this
        process's next SQLite writer starts (it must not await)."""
        writer = self._sqlite_writer or contextlib.nullcontext()
        async with writer, self.engine.connect() as conn:
            async with conn.begin():
                yield conn
            if on_commit is not None:
                on_commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(callpad_read_only=True)
            async with conn.begin():
                yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("callpad_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
