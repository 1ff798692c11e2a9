"""Upgrading a database that holds data: what the migrations do to rows already written."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from callpad.clock import utcnow
from callpad.context import AppContext
from callpad.db.engine import Database
from callpad.db.migrate import downgrade, upgrade
from callpad.db.tables import Json, Timestamp, media_jobs, metadata, outbox
from callpad.testing import fast_settings

from testsupport.api import eventually, running_app
from testsupport.postgres import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
)

TEAM, GUEST = "user:#7", "user:#8"

# The outbox as schema 0006 has it: no `fanned_out` column.
OUTBOX_0006 = sa.table(
    "outbox",
    sa.column("topic", sa.String()),
    sa.column("channels", Json),
    sa.column("data", Json),
    sa.column("created_at", Timestamp()),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def new_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, for migrations to build up step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callpad.db'}"
        return
    try:
        url = await create_postgres_database()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield url
    finally:
        await drop_postgres_database(url)


async def test_the_migrations_build_the_schema_the_code_declares(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def differences(conn: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_server_default": True})
        return list(compare_metadata(context, metadata))

    db = Database(fast_settings(database_url).resolved_database_url())
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await db.dispose()


async def test_0007_downgrades_and_upgrades_again_keeping_the_rows(new_database_url: str) -> None:
    db = Database(fast_settings(new_database_url).resolved_database_url())

    async def columns() -> set[str]:
        async with db.engine.connect() as conn:
            found = await conn.run_sync(lambda c: sa.inspect(c).get_columns("outbox"))
            return {column["name"] for column in found}

    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            row = {"topic": "t", "channels": [TEAM], "data": [{"n": 1}], "created_at": utcnow()}
            await conn.execute(outbox.insert().values(fanned_out=True, **row))
        await downgrade(db, "0006")
        assert "fanned_out" not in await columns()
        await upgrade(db)
        assert "fanned_out" in await columns()
        async with db.engine.connect() as conn:
            marked = (await conn.execute(sa.select(outbox.c.fanned_out))).scalars().all()
        assert marked == [True]  # marked again from its data
    finally:
        await db.dispose()


async def test_0008_downgrades_and_upgrades_again_keeping_the_jobs(new_database_url: str) -> None:
    db = Database(fast_settings(new_database_url).resolved_database_url())
    job = {"session_id": "ses_1", "due_at": utcnow(), "body": {"command": {"action": "hold"}}}
    try:
        await upgrade(db)
        async with db.engine.begin() as conn:
            await conn.execute(media_jobs.insert().values(attempts=3, last_error="boom", **job))
        await downgrade(db, "0007")
        await upgrade(db)
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.select(media_jobs))).mappings().all()
        assert [(r["session_id"], r["attempts"], r["last_error"]) for r in rows] == [
            ("ses_1", 0, None)  # the job kept; its attempts start again
        ]
    finally:
        await db.dispose()


def published(ctx: AppContext, channel: str) -> list[Any]:
    assert ctx.hub is not None
    return [payload for _offset, payload in ctx.hub.history(channel)]


async def test_unpublished_fan_outs_written_before_0007_are_split_after_the_upgrade(
    new_database_url: str,
) -> None:
    settings = fast_settings(new_database_url)
    db = Database(settings.resolved_database_url())
    try:
        await upgrade(db, "0006")
        async with db.engine.begin() as conn:
            now = utcnow()
            await conn.execute(
                OUTBOX_0006.insert(),
                [
                    {
                        "topic": "session.invite.upsert",
                        "channels": [TEAM, GUEST],
                        "data": [{"n": 1}, {"n": 2}],
                        "created_at": now,
                    },
                    {
                        "topic": "session.upsert",
                        "channels": [TEAM, GUEST],
                        "data": {"n": 3},
                        "created_at": now,
                    },
                ],
            )
        await upgrade(db)
        async with db.engine.connect() as conn:
            query = sa.select(outbox.c.topic, outbox.c.fanned_out).order_by(outbox.c.id)
            marks = (await conn.execute(query)).all()
        assert [tuple(m) for m in marks] == [
            ("session.invite.upsert", True),
            ("session.upsert", False),
        ]
    finally:
        await db.dispose()

    # A server on the upgraded database publishes the rows its predecessor left behind.
    async with running_app(settings, migrated=True) as app:
        ctx: AppContext = app.state.ctx
        await eventually(lambda: len(published(ctx, GUEST)) == 2)
        assert published(ctx, TEAM) == [
            {"topic": "session.invite.upsert", "data": {"n": 1}},
            {"topic": "session.upsert", "data": {"n": 3}},
        ]
        assert published(ctx, GUEST) == [
            {"topic": "session.invite.upsert", "data": {"n": 2}},
            {"topic": "session.upsert", "data": {"n": 3}},
        ]
