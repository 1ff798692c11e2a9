"""The webhook ids already applied."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import media_webhooks

__all__ = ["delete_old_webhooks", "remember_webhook"]


async def remember_webhook(conn: AsyncConnection, webhook_id: str, now: datetime) -> bool:
    """Record `webhook_id`; False when it was already applied (this transaction then
    changes nothing)."""
    try:
        async with conn.begin_nested():
            await conn.execute(media_webhooks.insert().values(id=webhook_id, received_at=now))
    except IntegrityError:
        return False
    return True


async def delete_old_webhooks(conn: AsyncConnection, received_before: datetime) -> None:
    await conn.execute(
        media_webhooks.delete().where(media_webhooks.c.received_at < received_before)
    )
