"""Durable media jobs: commands for the backend and the reports it sends back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import media_jobs
from ..db.transaction import after_commit
from ..domain import MediaCommand
from .base import MediaReport
from .reports import Report, report_from_json, report_to_json

__all__ = [
    "TakenJob",
    "delete_finished_jobs",
    "due_job_ids",
    "next_job_due",
    "schedule_commands",
    "schedule_reports",
    "settle_job",
    "take_job",
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


@dataclass(frozen=True, slots=True)
class TakenJob:
    """A due job this process took: a report to apply, or a command to carry out."""

    id: int
    session_id: str
    attempts: int  # this one included: it tells this attempt from a later one
    report: Report | None
    command: MediaCommand | None


_TAKE = (
    media_jobs.update()
    .where(
        media_jobs.c.id == sa.bindparam("job_id"),
        media_jobs.c.done_at.is_(None),
        media_jobs.c.due_at <= sa.bindparam("now"),
    )
    .values(due_at=sa.bindparam("lease_until"), attempts=media_jobs.c.attempts + 1)
    .returning(media_jobs.c.session_id, media_jobs.c.body, media_jobs.c.attempts)
)


async def take_job(
    conn: AsyncConnection, job_id: int, now: datetime, lease_s: float
) -> TakenJob | None:
    """Take the due job for `lease_s` seconds: unless it is settled by then, it falls due
    again (for any process). None when another process took it first."""
    params = {"job_id": job_id, "now": now, "lease_until": now + timedelta(seconds=lease_s)}
    row = (await conn.execute(_TAKE, params)).first()
    if row is None:
        return None
    body = row.body
    return TakenJob(
        id=job_id,
        session_id=row.session_id,
        attempts=row.attempts,
        report=report_from_json(body["report"]) if "report" in body else None,
        command=MediaCommand(**body["command"]) if "command" in body else None,
    )


async def settle_job(
    conn: AsyncConnection,
    job: TakenJob,
    now: datetime,
    *,
    retry_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    """Mark the job done (or due again at `retry_at`), keeping `error`. False when this
    attempt no longer holds it: its lease ran out and another attempt took it."""
    if retry_at is None:
        values: dict[str, Any] = {"done_at": now, "last_error": error}
    else:
        values = {"due_at": retry_at, "last_error": error}
    settled = await conn.execute(
        media_jobs.update()
        .where(
            media_jobs.c.id == job.id,
            media_jobs.c.done_at.is_(None),
            media_jobs.c.attempts == job.attempts,
        )
        .values(**values)
    )
    if retry_at is not None and settled.rowcount:
        after_commit(conn).media_job_at(retry_at)
    return bool(settled.rowcount)


async def delete_finished_jobs(conn: AsyncConnection, done_before: datetime) -> None:
    await conn.execute(
        media_jobs.delete().where(
            media_jobs.c.done_at.is_not(None), media_jobs.c.done_at < done_before
        )
    )
