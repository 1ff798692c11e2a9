"""`GET /api/v1/vendors/{vendor}/sessions/{session_id}/recordings/{recording_id}/audio`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..dependencies import Ctx, CurrentUser
from ..problems import problem_responses
from .service import recording_audio

__all__ = ["router"]

router = APIRouter(tags=["sessions"])


@router.get(
    "/vendors/{vendor}/sessions/{session_id}/recordings/{recording_id}/audio",
    operation_id="get_recording_audio",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"audio/wav": {}, "audio/ogg": {}},
            "description": "The recording's audio (WAV from the built-in recorder, Ogg "
            "from Egress).",
        },
        **problem_responses(404, 409),
    },
)
async def get_recording_audio(
    vendor: str, session_id: str, recording_id: str, ctx: Ctx, user_id: CurrentUser
) -> FileResponse:
    """Download a finished recording (its participants, and the vendor's owners and
    admins). 409 while it is still being written."""
    async with ctx.db.read() as conn:
        path, media_type = await recording_audio(
            ctx.settings, conn, vendor, session_id, recording_id, user_id
        )
    return FileResponse(path, media_type=media_type, filename=path.name)
