"""Production recordings through LiveKit Egress (`CALLPAD_LIVEKIT_RECORDER=egress`).

An audio-only room composite, written by the Egress service to its configured storage
at `CALLPAD_LIVEKIT_EGRESS_FILEPATH` (which names the recording: its file stem is the
recording id, so the egress needs no mapping of its own in Callpad). Its progress comes
back as webhooks: `egress_updated` ACTIVE makes the recording `active`, `egress_ended`
COMPLETE saves its duration, size and format, FAILED / ABORTED / LIMIT_REACHED fail it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from livekit import api
from livekit.protocol.egress import EgressInfo, EgressStatus

from ...config import Settings
from ...domain import RecordingState, Session
from ..reports import RecordingReport, RecordingSavedReport

__all__ = [
    "EGRESS_FORMAT",
    "egress_file",
    "egress_reports",
    "start_egress",
    "start_egress_request",
    "stop_egress",
]

EGRESS_FORMAT = "audio/ogg"
_FAILED = {
    EgressStatus.EGRESS_FAILED: "failed",
    EgressStatus.EGRESS_ABORTED: "aborted",
    EgressStatus.EGRESS_LIMIT_REACHED: "limit reached",
}


def egress_file(settings: Settings, session_id: str, recording_id: str) -> str:
    return settings.livekit_egress_filepath.format(session_id=session_id, recording_id=recording_id)


def start_egress_request(
    settings: Settings, session: Session, recording_id: str
) -> api.RoomCompositeEgressRequest:
    return api.RoomCompositeEgressRequest(
        room_name=session.room,
        audio_only=True,
        file_outputs=[
            api.EncodedFileOutput(
                file_type=api.EncodedFileType.OGG,
                filepath=egress_file(settings, session.id, recording_id),
            )
        ],
    )


async def start_egress(
    lk: api.LiveKitAPI, settings: Settings, session: Session, recording_id: str
) -> None:
    await lk.egress.start_room_composite_egress(
        start_egress_request(settings, session, recording_id)
    )


def _recording_of(info: EgressInfo) -> str | None:
    outputs = info.room_composite.file_outputs
    path = outputs[0].filepath if outputs else info.file.filename
    return PurePosixPath(path).stem if path else None


async def stop_egress(lk: api.LiveKitAPI, session: Session, recording_id: str) -> None:
    """Stop the room's live egress that writes this recording (none left: done)."""
    listed = await lk.egress.list_egress(api.ListEgressRequest(room_name=session.room, active=True))
    for info in listed.items:
        if _recording_of(info) == recording_id:
            await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))


def egress_reports(info: EgressInfo) -> list[RecordingReport | RecordingSavedReport]:
    """The recording reports an egress webhook carries."""
    recording_id = _recording_of(info)
    if recording_id is None:
        return []
    if info.status == EgressStatus.EGRESS_ACTIVE:
        return [RecordingReport(recording_id=recording_id, state=RecordingState.ACTIVE)]
    if info.status == EgressStatus.EGRESS_COMPLETE and info.file_results:
        result = info.file_results[0]
        return [
            RecordingSavedReport(
                recording_id=recording_id,
                duration_s=result.duration / 1e9,
                size_bytes=result.size,
                format=EGRESS_FORMAT,
            )
        ]
    if info.status in _FAILED:
        error = f"egress {_FAILED[info.status]}: {info.error}".rstrip(": ")
        failed = RecordingState.FAILED
        return [RecordingReport(recording_id=recording_id, state=failed, error=error)]
    return []
