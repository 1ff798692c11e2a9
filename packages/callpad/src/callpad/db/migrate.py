"""Alembic, driven from code: `callpad db upgrade` and the startup schema check.

The startup check does not load Alembic: importing it (with every SQL dialect it knows)
cost each server process a large part of its start-up, to read one row. The schema
version is read with one query and compared with `SCHEMA_HEAD`; a test keeps that equal
to the head of the migration scripts. Alembic is imported only to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .engine import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

__all__ = [
    "SCHEMA_HEAD",
    "SchemaNotCurrent",
    "assert_schema_current",
    "downgrade",
    "upgrade",
]

# The newest migration's revision (`versions/`); the server refuses any other schema.
SCHEMA_HEAD = "0008"

_MIGRATIONS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"


class SchemaNotCurrent(RuntimeError):
    """The database is not at the schema this server needs."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The head of the migration scripts, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the database behind `db`."""
    from alembic import command

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def downgrade(db: Database, revision: str) -> None:
    """Undo migrations down to `revision` (no CLI command: for tests, and by hand)."""
    from alembic import command

    def run(connection: Connection) -> None:
        command.downgrade(_config(connection), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(db: Database) -> str | None:
    """The schema version Alembic recorded; None for a database it never migrated."""
    if db.is_sqlite:
        has_table = sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t")
    else:
        has_table = sa.text("SELECT 1 WHERE to_regclass(:t) IS NOT NULL")
    async with db.engine.connect() as conn:
        if (await conn.execute(has_table, {"t": _VERSION_TABLE})).first() is None:
            return None
        query = sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")
        versions = sorted(str(v) for v in (await conn.execute(query)).scalars())
    # Several rows would be branches merged by hand: never a schema this server knows.
    return ",".join(versions) or None


async def assert_schema_current(db: Database) -> None:
    current = await current_revision(db)
    if current != SCHEMA_HEAD:
        found = "an unmigrated database" if current is None else f"schema {current}"
        raise SchemaNotCurrent(
            f"Found {found}, this server needs {SCHEMA_HEAD}: run `callpad db upgrade` first."
        )
