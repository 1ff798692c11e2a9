"""The database handle: async engines, write transactions that serialise per session.

On SQLite, write transactions run their statements inline, on the event loop's thread,
instead of handing each one to aiosqlite's thread. A write statement on SQLite is a few
microseconds of work on pages already in memory (WAL, no fsync at commit), while each hop
to a thread and back costs far more CPU than that: waking the thread, passing the GIL
twice, waking the loop. This process's writers already run one at a time (see
`Database`), so nothing waits on a thread they would free. Read transactions run inline
too: the server's reads are bounded index lookups (lists are paginated). What could block
the loop does not run inline: waiting for a lock (`BEGIN IMMEDIATE`, or a read's first
look at the database while another process recovers it, fails at once and then waits on a
worker thread) and WAL checkpoints (on a worker thread every `CHECKPOINT_EVERY_COMMITS`
commits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import event, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.engine.interfaces import (
        CoreExecuteOptionsParameter,
        _CoreAnyExecuteParams,
        _DBAPIAnyExecuteParams,
    )
    from sqlalchemy.sql.base import Executable

__all__ = ["CHECKPOINT_EVERY_COMMITS", "Database", "json_dumps", "json_loads"]

logger = logging.getLogger(__name__)

# SQLite's own automatic checkpoint would run inside a commit, on the loop's thread, and
# fsync there; it is turned off on inline connections and run on a worker thread this
# often instead (SQLite's default is every 1,000 WAL pages; a session change writes a few).
CHECKPOINT_EVERY_COMMITS = 300


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

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        checkpoint_every_commits: int = CHECKPOINT_EVERY_COMMITS,
    ) -> None:
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
        # Migrations and tools; transactions too, except on an SQLite file (below).
        self.engine: AsyncEngine = create_async_engine(url, **options)
        self._transactions = self.engine
        # SQLite has one writer at a time. Queueing this process's writers here, in order,
        # hands the lock over at once; left to SQLite's busy handler, waiters poll it with
        # growing sleeps while it stands free, and throughput collapses under concurrency.
        self._sqlite_writer: asyncio.Lock | None = None
        self._inline = False
        self._checkpoint_every = checkpoint_every_commits
        self._commits_since_checkpoint = 0
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            self._sqlite_writer = asyncio.Lock()
            parsed = make_url(url)
            if SQLiteDialect_pysqlite._is_url_file_db(parsed):
                self._inline = True
                inline = create_async_engine(_inline_url(parsed), pool_use_lifo=True, **options)
                self._transactions = _InlineAsyncEngine(inline.sync_engine)
                _configure_sqlite(self._transactions, inline=True)

    @asynccontextmanager
    async def write(
        self, *, on_commit: Callable[[], None] | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction. `on_commit` runs once it has committed, before this
        process's next SQLite writer starts (it must not await)."""
        writer = self._sqlite_writer or contextlib.nullcontext()
        async with writer, self._transactions.connect() as conn:
            async with conn.begin():
                yield conn
            if on_commit is not None:
                on_commit()
            if self._inline:
                await self._count_commit(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._transactions.connect() as conn:
            conn = await conn.execution_options(callpad_read_only=True)
            async with conn.begin():
                yield conn

    async def dispose(self) -> None:
        await self._transactions.dispose()
        await self.engine.dispose()

    async def _count_commit(self, conn: AsyncConnection) -> None:
        """Checkpoint the WAL on a worker thread every `checkpoint_every_commits` commits,
        still holding the writer queue: the next writer then finds the WAL fully copied
        and starts it over, so it stays bounded under continuous writes, as SQLite's own
        checkpoint inside the commit would keep it (but with the loop free meanwhile)."""
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < self._checkpoint_every:
            return
        self._commits_since_checkpoint = 0
        raw = await conn.get_raw_connection()
        try:
            await _on_worker_thread(_checkpoint_wal, raw.driver_connection)
        except sqlite3.Error:
            # The change has committed; the next checkpoint copies what this one did not.
            logger.warning("WAL checkpoint failed", exc_info=True)


async def _on_worker_thread(work: Callable[..., None], *args: Any) -> None:
    """`work(*args)` on a worker thread. It uses a connection the caller holds: if the
    caller is cancelled meanwhile, the connection is released only once the thread is
    done with it (else the loop could block on that connection's mutex)."""
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


def _checkpoint_wal(dbapi_connection: Any) -> None:
    # PASSIVE: copies what no reader still needs into the database and never waits.
    dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """The standard library's sqlite3 under SQLAlchemy's asyncio API, with no thread: each
    statement runs to completion where it is awaited (see the module's docstring)."""

    driver = "callpad_inline"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def create_connect_args(self, url: URL) -> Any:
        args, kwargs = super().create_connect_args(url)
        # A wait for another process's lock runs on a worker thread (`_begin_inline`).
        kwargs["check_same_thread"] = False
        kwargs["factory"] = _InlineConnection
        return args, kwargs

    def get_driver_connection(self, connection: Any) -> Any:
        return connection

    # SQLAlchemy's own AsyncConnection runs each statement in a new greenlet and insists
    # that it yield to the event loop once; for those, these yield an awaitable that is
    # already done (two greenlet switches, no trip through the loop). Statements from
    # `_InlineAsyncConnection` run in no greenlet, and yield nothing.
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        if in_greenlet():
            await_(_DONE)
        super().do_execute(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        if in_greenlet():
            await_(_DONE)
        super().do_executemany(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        if in_greenlet():
            await_(_DONE)
        super().do_execute_no_params(cursor, statement, context)  # type: ignore[no-untyped-call]


class _InlineAsyncConnection(AsyncConnection):
    """An inline SQLite connection's statements, options, commits and closes run where they are
    awaited, with no greenlet: SQLAlchemy's AsyncConnection starts a greenlet for each
    (and Python maps and unmaps a frame stack for it), and a task for each close,
    several times the cost of a small statement on pages in memory. None of them waits
    here (no lock is met after `BEGIN`; a close hands the connection back to the pool):
    what may wait, the pool at connect and a lock at `BEGIN`, stays in SQLAlchemy's
    greenlets."""

    __slots__ = ()

    async def execute(
        self,
        statement: Executable,
        parameters: _CoreAnyExecuteParams | None = None,
        *,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[Any]:
        return self._proxied.execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(
        self,
        statement: str,
        parameters: _DBAPIAnyExecuteParams | None = None,
        execution_options: CoreExecuteOptionsParameter | None = None,
    ) -> CursorResult[Any]:
        return self._proxied.exec_driver_sql(statement, parameters, execution_options)

    async def execution_options(self, **opt: Any) -> AsyncConnection:
        self._proxied.execution_options(**opt)
        return self

    def begin(self) -> AsyncTransaction:
        assert self._proxied
        return _InlineAsyncTransaction(self)

    async def close(self) -> None:
        self._proxied.close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self._proxied.close()


class _InlineAsyncTransaction(AsyncTransaction):
    """A transaction of `_InlineAsyncConnection`, committed or rolled back inline."""

    __slots__ = ()

    async def commit(self) -> None:
        self._proxied.commit()

    async def rollback(self) -> None:
        self._proxied.rollback()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self._proxied.__exit__(type_, value, traceback)


class _InlineAsyncEngine(AsyncEngine):
    __slots__ = ()
    _connection_cls = _InlineAsyncConnection


class _InlineCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's asyncio layer after a statement; an aiosqlite cursor
        fetches its rows here. This one reads them where they are asked for, on the
        same thread, so there is nothing to do."""


class _InlineConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _InlineCursor) -> Any:
        return super().cursor(factory)


class _Done:
    """An awaitable that is complete from the start."""

    def __await__(self) -> Generator[None, None, None]:
        return iter(())  # type: ignore[return-value]


_DONE = _Done()


registry.register("sqlite.callpad_inline", __name__, "InlineSQLiteDialect")


def _inline_url(url: URL) -> URL:
    return url.set(drivername="sqlite+callpad_inline")


# A write transaction takes the write lock at once; a read transaction takes its snapshot
# at once (a read of the header), so that no later statement of either can meet a lock.
_BEGIN_WRITE = ("BEGIN IMMEDIATE",)
_BEGIN_READ = ("BEGIN", "PRAGMA schema_version")


def _begin_inline(dbapi_connection: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    """Begin a transaction. Inline connections have no busy timeout, so this fails at once
    when another process holds what it needs; then it is retried on a worker thread with
    SQLite's busy handler (30 s), and the loop goes on serving meanwhile."""
    try:
        _run_all(dbapi_connection, statements)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise
        if dbapi_connection.in_transaction:
            statements = statements[1:]  # BEGIN went through; what followed did not
        await_(_on_worker_thread(_begin_waiting, dbapi_connection, statements))


def _run_all(dbapi_connection: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    for statement in statements:
        dbapi_connection.execute(statement).close()


def _begin_waiting(dbapi_connection: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=30000")
    try:
        _run_all(dbapi_connection, statements)
    finally:
        dbapi_connection.execute("PRAGMA busy_timeout=0")


def _configure_sqlite(engine: AsyncEngine, *, inline: bool = False) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if inline:
            # Never wait on the loop's thread (see `_begin_inline`), and never
            # checkpoint inside a commit there (see `CHECKPOINT_EVERY_COMMITS`).
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        else:
            cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("callpad_read_only", False)
        if inline:
            _begin_inline(
                conn.connection.dbapi_connection, _BEGIN_READ if read_only else _BEGIN_WRITE
            )
            return
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
