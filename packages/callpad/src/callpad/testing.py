"""What the SDK's test plugin (`farvex.testing`) needs from the server package to run a
real Callpad in a user's tests: settings that make flows finish in milliseconds, and a
migrated database. Nothing else here ships; this project's own test support lives in
`testsupport/` at the repository's root and in the test suites.
"""

from __future__ import annotations

from typing import Any

from .config import Settings
from .db.engine import Database
from .db.migrate import upgrade

__all__ = ["fast_settings", "migrate"]


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
    """Bring the settings' database to the newest schema (a new SQLite file included)."""
    db = Database(settings.resolved_database_url())
    try:
        await upgrade(db)
    finally:
        await db.dispose()
