"""The media interface. Backends carry out `MediaCommand`s and report back what happened.

A backend never touches the database. The server stores each command as a durable job in
the same transaction as the change that caused it; a worker hands the job to `execute`,
and stores whatever `MediaReport`s come back as jobs due later. Reports (and, with
LiveKit, webhooks) are applied to sessions like any other change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain import MediaCommand, Session
from .reports import Report

__all__ = ["MediaBackend", "MediaReport", "MediaUnavailable", "ReportSink"]


class MediaUnavailable(RuntimeError):
    """The media server did not do what was asked; the change that needed it is refused."""


@dataclass(frozen=True, slots=True)
class MediaReport:
    """Something the media layer observed (`reports.py`), to apply `after_s` seconds from now."""

    after_s: float
    report: Report


# Stores a report that came after `execute` returned (a recorder that joined, a file
# written): `(session_id, report)`, applied like any other report.
ReportSink = Callable[[str, MediaReport], Awaitable[None]]


class MediaBackend(Protocol):
    name: str
    # The `MediaCommand.action`s this backend acts on; no job is stored for the others.
    actions: frozenset[str]

    def describe(self) -> dict[str, Any]:
        """What /readyz and the startup line say about media."""
        ...

    async def open_room(self, session: Session) -> None:
        """Make the new session's room ready before its first join grant is handed out
        (called inside the transaction that starts the session: if it fails, the session
        is not started). Raises `MediaUnavailable` when the media server cannot."""
        ...

    def attach(self, sink: ReportSink) -> None:
        """Where to send reports that come later than `execute`'s return."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (connections, recorder tasks)."""
        ...

    async def execute(self, session: Session, command: MediaCommand) -> list[MediaReport]: ...
