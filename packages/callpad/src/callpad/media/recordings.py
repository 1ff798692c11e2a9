"""Where a finished recording's audio lives (one source of truth for the recorder that
writes it and the endpoint that serves it)."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings

__all__ = ["recording_path"]


def recording_path(
    settings: Settings, session_id: str, recording_id: str, media_type: str = "audio/wav"
) -> Path:
    """The built-in recorder's `<data dir>/recordings/<session id>/<recording id>.wav`;
    an Egress file (`audio/ogg`) under the data dir at CALLPAD_LIVEKIT_EGRESS_FILEPATH,
    where Egress writes when it shares that volume."""
    if media_type == "audio/ogg":
        relative = settings.livekit_egress_filepath.format(
            session_id=session_id, recording_id=recording_id
        )
        return settings.data_dir / relative
    return settings.data_dir / "recordings" / session_id / f"{recording_id}.wav"
