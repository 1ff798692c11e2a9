"""SQLite write transactions run inline on the event loop's thread: they must still wait
for another process's write lock without stalling the loop, keep the WAL bounded, and
commit or roll back exactly as before."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from callpad.db.engine import Database

CHECKPOINT_EVERY = 20


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}",
        checkpoint_every_commits=CHECKPOINT_EVERY,
    )
    async with database.write() as conn:
        await conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    try:
        yield database
    finally:
        await database.dispose()


async def bodies(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await conn.exec_driver_sql("SELECT body FROM notes ORDER BY id")
        return [row[0] for row in rows]


async def test_a_writer_waits_for_another_process_lock_while_the_loop_serves_others(
    db: Database, tmp_path: Path
) -> None:
    # Another process's writer, holding SQLite's write lock.
    other = sqlite3.connect(tmp_path / "writes.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO notes (body) VALUES ('other process')")
        ours_committed = asyncio.Event()

        async def ours() -> None:
            async with db.write(on_commit=ours_committed.set) as conn:
                await conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('ours')")

        writer = asyncio.create_task(ours())
        # Had the writer blocked the loop while it waited for the lock, nothing below
        # would run until SQLite's busy timeout failed it.
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert not writer.done()
        assert not ours_committed.is_set()
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 10)
    finally:
        other.close()
    assert await bodies(db) == ["other process", "ours"]


async def test_a_failed_write_rolls_back_and_the_next_one_commits(db: Database) -> None:
    async def refused() -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('lost')")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await refused()
    async with db.write() as conn:
        result = await conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('kept') RETURNING id")
        assert result.scalar_one() == 1
    assert await bodies(db) == ["kept"]


async def test_concurrent_writers_each_commit_once(db: Database) -> None:
    async def write(n: int) -> None:
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (f"note {n}",))
            await asyncio.sleep(0)  # let the others queue behind this transaction

    await asyncio.gather(*(write(n) for n in range(50)))
    assert sorted(await bodies(db)) == sorted(f"note {n}" for n in range(50))


async def test_the_wal_stays_bounded_under_continuous_writes(db: Database, tmp_path: Path) -> None:
    commits = 20 * CHECKPOINT_EVERY
    for n in range(commits):
        async with db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (f"{n:04}" * 100,))
    with contextlib.closing(sqlite3.connect(tmp_path / "writes.db")) as probe:
        page_size = probe.execute("PRAGMA page_size").fetchone()[0]
    # Each commit appends at least one page to the WAL; without checkpoints it would hold
    # `commits` pages or more. Checkpointed every CHECKPOINT_EVERY commits, the WAL starts
    # over, and holds a few intervals' worth at most.
    wal = tmp_path / "writes.db-wal"
    assert wal.stat().st_size < 4 * CHECKPOINT_EVERY * (page_size + 24) * 3
    assert wal.stat().st_size < commits * page_size / 4
    assert len(await bodies(db)) == commits


async def test_a_writer_cancelled_while_it_waits_for_the_lock_leaves_the_database_usable(
    db: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "writes.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")

        async def waits() -> None:
            async with db.write() as conn:
                await conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('cancelled')")

        waiting = asyncio.create_task(waits())
        for _ in range(5):
            await asyncio.sleep(0.01)
        waiting.cancel()
        # The waiting thread still holds the connection; releasing the lock lets it finish.
        other.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiting, 10)
    finally:
        other.close()
    async with db.write() as conn:
        await conn.exec_driver_sql("INSERT INTO notes (body) VALUES ('after')")
    assert await bodies(db) == ["after"]


async def test_consecutive_writers_reuse_one_connection_and_its_page_cache(db: Database) -> None:
    # A connection drops its page cache when it begins after another connection wrote;
    # writers handed the pool's oldest idle connection would each re-read every page.
    async with db.read(), db.read():
        pass  # two more connections, now idle in the pool
    used = []
    for n in range(5):
        async with db.write() as conn:
            await conn.exec_driver_sql(f"INSERT INTO notes (body) VALUES ('{n}')")
            used.append((await conn.get_raw_connection()).driver_connection)
    assert all(c is used[0] for c in used)
    assert await bodies(db) == ["0", "1", "2", "3", "4"]
