"""Media reports wait as jobs in the database: each type comes back as it was stored, a
job written before reports were typed still applies, a stored body no server wrote is
refused with a clear error, and a stored report is applied to its session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.domain import RecordingState, SipLegState
from callpad.media.base import MediaReport
from callpad.media.jobs import schedule_reports
from callpad.media.reports import (
    ConnectedReport,
    RecordingReport,
    RecordingSavedReport,
    Report,
    RoomAudioReport,
    RoomFinishedReport,
    RoomJoinedReport,
    RoomLeftReport,
    SipReport,
    report_from_json,
    report_to_json,
)
from fastapi import FastAPI

from testsupport.api import Api, eventually

from .conftest import AGENT, participant, ring

AT = datetime(2026, 11, 30, 6, 0, 0, 250000, tzinfo=UTC)

EVERY_TYPE: list[Report] = [
    SipReport(participant_id="par_1", state=SipLegState.RINGING),
    SipReport(participant_id="par_1", state=SipLegState.FAILED, sip_status=486, error="busy"),
    RecordingReport(recording_id="rec_1", state=RecordingState.ACTIVE),
    RecordingReport(recording_id="rec_1", state=RecordingState.FAILED, error="egress failed"),
    RecordingSavedReport(recording_id="rec_1", duration_s=3.5, size_bytes=4096, format="audio/ogg"),
    ConnectedReport(participant_id="par_1", connected=True),
    RoomJoinedReport(participant_id="par_1", sid="PA_1", at=AT),
    RoomLeftReport(participant_id="par_1", sid="PA_1"),
    RoomAudioReport(participant_id="par_1", at=AT),
    RoomFinishedReport(),
]


@pytest.mark.parametrize("report", EVERY_TYPE, ids=lambda r: r.type)
def test_a_stored_report_comes_back_as_it_was(report: Report) -> None:
    assert report_from_json(report_to_json(report)) == report


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (
            {"type": "sip", "participant_id": "par_1", "state": "failed", "sip_status": 603},
            SipReport(participant_id="par_1", state=SipLegState.FAILED, sip_status=603),
        ),
        (
            {"type": "recording", "recording_id": "rec_1", "state": "active"},
            RecordingReport(recording_id="rec_1", state=RecordingState.ACTIVE),
        ),
        (
            {"type": "connected", "participant_id": "par_1", "connected": False},
            ConnectedReport(participant_id="par_1", connected=False),
        ),
    ],
)
def test_jobs_stored_before_reports_were_typed_still_apply(
    stored: dict[str, Any], expected: Report
) -> None:
    assert report_from_json(stored) == expected
    assert report_to_json(expected) == stored


@pytest.mark.parametrize(
    "stored",
    [
        {"type": "dtmf_from_the_future", "participant_id": "par_1"},
        {"participant_id": "par_1", "state": "ringing"},
        {"type": "sip", "participant_id": "par_1", "state": "on_the_moon"},
        {"type": "recording_saved", "recording_id": "rec_1"},
    ],
)
def test_a_body_no_server_wrote_is_refused(stored: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a media report"):
        report_from_json(stored)


async def test_a_stored_connected_report_marks_the_party_in_the_room(
    app: FastAPI, api: Api, acme: Any
) -> None:
    session_id, agent_pid = await ring(api)
    ctx: AppContext = app.state.ctx
    async with write_transaction(ctx) as conn:
        joined = ConnectedReport(participant_id=agent_pid, connected=True)
        await schedule_reports(conn, session_id, [MediaReport(0, joined)], utcnow())

    async def agent_connected() -> bool:
        view = (await api.get(AGENT, f"/vendors/acme/sessions/{session_id}")).json()
        return bool(participant(view, AGENT)["connected"])

    await eventually(agent_connected)
