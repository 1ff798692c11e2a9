"""Durable media jobs: commands for the backend and the reports it sends back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import media_jobs
from ..db.transaction import after_commit
from ..domain import MediaCommand
from .base import MediaReport
from .reports import report_to_json

__all__ = [
    "claim_job",
    "delete_finished_jobs",
    "due_job_ids",
    "next_job_due",
    "schedule_commands",
    "schedule_reports",
]


async def schedule_commands(
    conn: AsyncConnection, session_id: str, commands: Iterable[MediaCommand], now: datetime
) -> None:
    rows = [
        {"session_id": session_id, "due_at": now, "body": {"command": asdict(c)}} for c in commands
    ]
    if rows:
        await conn.execute(media_jobs.insert(), rows)
        after_commit(conn).media_job_at(now)


async def schedule_reports(
    conn: AsyncConnection, session_id: str, reports: Iterable[MediaReport], now: datetime
) -> None:
    reports = list(reports)
    rows = [
        {
            "session_id": session_id,
            "due_at": now + timedelta(seconds=r.after_s),
            "body": {"report": report_to_json(r.report)},
        }
        for r in reports
    ]
    if rows:
        await conn.execute(media_jobs.insert(), rows)
        after_commit(conn).media_job_at(now + timedelta(seconds=min(r.after_s for r in reports)))


# Built once: the media loop runs these at every wake-up.
_NEXT_JOB_DUE = sa.select(sa.func.min(media_jobs.c.due_at)).where(media_jobs.c.done_at.is_(None))
_DUE_JOB_IDS = (
    sa.select(media_jobs.c.id)
    .where(media_jobs.c.done_at.is_(None), media_jobs.c.due_at <= sa.bindparam("now"))
    .order_by(media_jobs.c.due_at, media_jobs.c.id)
    .limit(sa.bindparam("limit"))
)


async def next_job_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest job not yet done is due."""
    due: datetime | None = (await conn.execute(_NEXT_JOB_DUE)).scalar_one_or_none()
    return due


async def due_job_ids(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[int]:
    rows = await conn.execute(_DUE_JOB_IDS, {"now": now, "limit": limit})
    return [int(job_id) for job_id in rows.scalars()]


async def claim_job(
    conn: AsyncConnection, job_id: int, now: datetime
) -> tuple[str, dict[str, Any]] | None:
    """Mark the job done in this transaction; None when another worker already has."""
    claimed = await conn.execute(
        media_jobs.update()
        .where(media_jobs.c.id == job_id, media_jobs.c.done_at.is_(None))
        .values(done_at=now)
        .returning(media_jobs.c.session_id, media_jobs.c.body)
    )
    row = claimed.first()
    return (row.session_id, row.body) if row else None


async def delete_finished_jobs(conn: AsyncConnection, done_before: datetime) -> None:
    await conn.execute(
        media_jobs.delete().where(
            media_jobs.c.done_at.is_not(None), media_jobs.c.done_at < done_before
        )
    )
