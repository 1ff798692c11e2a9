"""What the media layer observed, as typed reports, and their stored form.

A report is applied to its session like any other change (`sessions.service.
apply_media_report`). Reports a backend sends later than its `execute` returns, or
delays, wait as media jobs; a job stores its report as JSON tagged by `type`, the same
shape as before reports were typed, so jobs written by an older server still apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from ..domain import RecordingState, SipLegState

__all__ = [
    "ConnectedReport",
    "RecordingReport",
    "RecordingSavedReport",
    "RecordingStartDeadlineReport",
    "Report",
    "RoomAudioReport",
    "RoomFinishedReport",
    "RoomJoinedReport",
    "RoomLeftReport",
    "SipCheckReport",
    "SipReport",
    "report_from_json",
    "report_to_json",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SipReport:
    """A phone leg's progress; `sip_status` when the far end answered with one."""

    participant_id: str
    state: SipLegState
    sip_status: int | None = None
    error: str | None = None
    type: Literal["sip"] = "sip"


@dataclass(frozen=True, slots=True, kw_only=True)
class SipCheckReport:
    """Time to look at a phone leg in the media server again (a durable job any server
    process runs, so a leg's progress does not depend on the process that dialled)."""

    participant_id: str
    type: Literal["sip_check"] = "sip_check"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingReport:
    """A recording became `active`, or `failed` (with why)."""

    recording_id: str
    state: RecordingState
    error: str | None = None
    type: Literal["recording"] = "recording"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSavedReport:
    """A recording's audio file is written."""

    recording_id: str
    duration_s: float
    size_bytes: int
    format: str
    type: Literal["recording_saved"] = "recording_saved"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStartDeadlineReport:
    """A recording's start deadline: it fails if it is still `starting` (`timeout_s` after
    it was asked for)."""

    recording_id: str
    timeout_s: float
    type: Literal["recording_start_deadline"] = "recording_start_deadline"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectedReport:
    """Whether a party is in the media room, as a whole (no backend sends it today; the
    LiveKit backend reports each connection with `RoomJoinedReport` / `RoomLeftReport`)."""

    participant_id: str
    connected: bool
    type: Literal["connected"] = "connected"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomJoinedReport:
    """One connection (`sid`) of a party joined the media room at `at`."""

    participant_id: str
    sid: str
    at: datetime
    type: Literal["room_joined"] = "room_joined"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomLeftReport:
    """One connection (`sid`) of a party left the media room, or never made it in."""

    participant_id: str
    sid: str
    type: Literal["room_left"] = "room_left"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomAudioReport:
    """A party published audio at `at`."""

    participant_id: str
    at: datetime
    type: Literal["room_audio"] = "room_audio"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomFinishedReport:
    """The media room closed."""

    type: Literal["room_finished"] = "room_finished"


Report = (
    SipReport
    | SipCheckReport
    | RecordingReport
    | RecordingSavedReport
    | RecordingStartDeadlineReport
    | ConnectedReport
    | RoomJoinedReport
    | RoomLeftReport
    | RoomAudioReport
    | RoomFinishedReport
)


@cache
def _adapter() -> TypeAdapter[Report]:
    # Built on first use, not at import: the CLI imports this package without media work.
    tagged = Annotated[Report, Field(discriminator="type")]
    return TypeAdapter[Report](tagged)


def report_to_json(report: Report) -> dict[str, Any]:
    """The stored form: `{"type": ..., field: value}`, unset optional fields left out."""
    body: dict[str, Any] = _adapter().dump_python(report, mode="json", exclude_none=True)
    return body


def report_from_json(body: dict[str, Any]) -> Report:
    """The report a job stored; `ValueError` for one no server wrote."""
    try:
        return _adapter().validate_python(body)
    except ValidationError as exc:
        raise ValueError(f"not a media report: {body!r}") from exc
