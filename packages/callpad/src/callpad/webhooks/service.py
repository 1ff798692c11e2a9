"""Apply one verified LiveKit webhook to its session, once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import AppContext
from ..domain import MediaCommand
from ..media.jobs import schedule_commands
from ..media.reports import RoomJoinedReport
from ..sessions import repository as session_repo
from ..sessions import service as sessions
from .repository import remember_webhook

if TYPE_CHECKING:
    from livekit.protocol.webhook import WebhookEvent

__all__ = ["apply_livekit_webhook"]


async def apply_livekit_webhook(
    ctx: AppContext, conn: AsyncConnection, event: WebhookEvent, now: datetime
) -> bool:
    """Apply the event's reports to its session; False for a redelivery (nothing changes)."""
    if not await remember_webhook(conn, f"livekit:{event.id}", now):
        return False
    from ..media.livekit.webhooks import reports_of  # loaded with the first webhook

    found = reports_of(event)
    if found.session_id is None:
        return True
    for report in found.reports:
        changed = await sessions.apply_media_report(ctx, conn, found.session_id, report, now)
        if changed and isinstance(report, RoomJoinedReport):
            await _keep_held(conn, found.session_id, report.participant_id, now)
    return True


async def _keep_held(
    conn: AsyncConnection, session_id: str, participant_id: str, now: datetime
) -> None:
    """A held party joined, perhaps with a grant from before the hold: make its room
    permission match the session's again."""
    stored = await session_repo.load_session(conn, session_id)
    if stored is None:
        return
    participant = stored.session.participant(participant_id)
    if participant is not None and stored.session.is_held(participant):
        await schedule_commands(conn, session_id, [MediaCommand("hold")], now)
