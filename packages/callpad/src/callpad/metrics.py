"""Prometheus metrics, served at /metrics (process metrics come with the client)."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["INVITES_EXPIRED", "MEDIA_JOBS", "OUTBOX_EVENTS", "SESSIONS_STARTED", "SESSION_CHANGES"]

SESSIONS_STARTED = Counter("callpad_sessions_started", "Sessions started.")
SESSION_CHANGES = Counter("callpad_session_changes", "Committed or attempted session changes.")
OUTBOX_EVENTS = Counter("callpad_outbox_events", "Realtime events written to the outbox.")
INVITES_EXPIRED = Counter("callpad_invites_expired", "Rings withdrawn at their ring timeout.")
MEDIA_JOBS = Counter("callpad_media_jobs", "Media jobs run, by kind.", ["kind"])
