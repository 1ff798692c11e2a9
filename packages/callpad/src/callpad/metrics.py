"""Prometheus metrics, served at /metrics (process metrics come with the client)."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = [
    "BACKGROUND_PASSES",
    "DISPATCHES_EXPIRED",
    "INVITES_EXPIRED",
    "MEDIA_JOBS",
    "MEDIA_JOB_FAILURES",
    "OUTBOX_EVENTS",
    "PRESENCE_SET_OFFLINE",
    "QUEUED_DISPATCHES_SERVED",
    "SESSIONS_STARTED",
    "SESSION_CHANGES",
]

SESSIONS_STARTED = Counter("callpad_sessions_started", "Sessions started.")
SESSION_CHANGES = Counter("callpad_session_changes", "Committed or attempted session changes.")
OUTBOX_EVENTS = Counter("callpad_outbox_events", "Realtime events written to the outbox.")
INVITES_EXPIRED = Counter("callpad_invites_expired", "Rings withdrawn at their ring timeout.")
MEDIA_JOBS = Counter("callpad_media_jobs", "Media jobs run, by kind.", ["kind"])
MEDIA_JOB_FAILURES = Counter(
    "callpad_media_job_failures",
    "Media commands that failed or got no answer in time, by action and outcome "
    "(retried, given_up).",
    ["action", "outcome"],
)
DISPATCHES_EXPIRED = Counter(
    "callpad_dispatches_expired", "Team dispatches expired at their dispatch or queue timeout."
)
PRESENCE_SET_OFFLINE = Counter(
    "callpad_presence_set_offline",
    "Members set offline because their every realtime connection was gone for the grace.",
)
QUEUED_DISPATCHES_SERVED = Counter(
    "callpad_queued_dispatches_served", "Queued team calls rung again when an agent was free."
)
BACKGROUND_PASSES = Counter(
    "callpad_background_passes",
    "Passes of each background loop (timers, dispatch queue, media jobs, presence, purge,"
    " outbox relay): an idle server should add almost none.",
    ["loop"],
)
