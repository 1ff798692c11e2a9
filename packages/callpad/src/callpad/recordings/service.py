"""Find a recording's audio file for a caller allowed to have it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from ..config import Settings
from ..media.recordings import recording_path
from ..problems import Problem, ProblemCode
from ..sessions import service as sessions

__all__ = ["recording_audio"]


async def recording_audio(
    settings: Settings,
    conn: AsyncConnection,
    vendor: str,
    session_id: str,
    recording_id: str,
    user_id: int,
) -> tuple[Path, str]:
    """The file and its media type. Only the session's participants and the vendor's
    owners and admins may have it; anyone else gets the same 404 as for no session."""
    session = await sessions.get_session(conn, vendor, session_id, user_id)
    recording = next((r for r in session.recordings if r.id == recording_id), None)
    if recording is None:
        raise Problem(404, ProblemCode.RECORDING_NOT_FOUND, "No such recording in this session.")
    if recording.file is None:
        raise Problem(
            409,
            ProblemCode.INVALID_STATE,
            f"The recording is {recording.state}; its audio is not written yet.",
        )
    path = recording_path(settings, session.id, recording.id, recording.file.format)
    if not path.is_file():
        raise Problem(
            404, ProblemCode.RECORDING_NOT_FOUND, "The recording's audio is no longer stored."
        )
    return path, recording.file.format
