"""Alembic, driven from code: `callpad db upgrade` and the startup schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from .engine import Database

__all__ = ["SchemaNotCurrent", "assert_schema_current", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotCurrent(RuntimeError):
    """The database is not at the schema this server needs."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the database behind `db`."""

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def current_revision(db: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def assert_schema_current(db: Database) -> None:
    current, head = await current_revision(db), head_revision()
    if current != head:
        found = "an unmigrated database" if current is None else f"schema {current}"
        raise SchemaNotCurrent(
            f"Found {found}, this server needs {head}: run `callpad db upgrade` first."
        )
