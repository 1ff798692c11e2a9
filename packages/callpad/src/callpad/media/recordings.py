"""Where a finished recording's audio lives (one source of truth for the recorder that
writes it and the endpoint that serves it)."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings

__all__ = ["recording_path"]


def recording_path(settings: Settings, session_id: str, recording_id: str) -> Path:
    """`<data dir>/recordings/<session id>/<recording id>.wav`."""
    return settings.data_dir / "recordings" / session_id / f"{recording_id}.wav"
