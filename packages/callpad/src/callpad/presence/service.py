"""Presence use cases: a member says whether they take calls; everyone sees it live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.transaction import after_commit
from ..realtime.channels import agent_channel, vendor_feed
from ..realtime.outbox import OutboxEvent, write_events
from ..vendors import VendorRow, member_roles, require_member
from . import repository as repo
from .schemas import PresenceView

__all__ = ["list_presence", "set_my_presence"]


async def set_my_presence(
    conn: AsyncConnection, vendor: VendorRow, user_id: int, status: str, now: datetime
) -> PresenceView:
    """Set the caller's status and publish `presence.upsert` to every member (on their
    vendor-scoped channels) and the vendor feed. An agent turning available wakes the
    dispatch queue at once (in this process; the others poll)."""
    await require_member(conn, vendor, user_id)
    row = await repo.set_status(conn, vendor.id, user_id, status, now)
    view = PresenceView(
        vendor=vendor.slug,
        user_id=user_id,
        status=row.status,
        updated_at=row.updated_at,
        wrap_up_until=row.wrap_up_until,
    )
    members = sorted(await member_roles(conn, vendor.id))
    channels = (*(agent_channel(vendor.slug, m) for m in members), vendor_feed(vendor.slug))
    event = OutboxEvent("presence.upsert", view.model_dump(mode="json"), channels)
    await write_events(conn, [event], now)
    if status == "available":
        after_commit(conn).dispatch_queue_changed = True
    return view


async def list_presence(
    conn: AsyncConnection, vendor: VendorRow, user_id: int
) -> list[PresenceView]:
    """Every member's status (members only)."""
    await require_member(conn, vendor, user_id)
    return [
        PresenceView(
            vendor=vendor.slug,
            user_id=row.user_id,
            status=row.status,
            updated_at=row.updated_at,
            wrap_up_until=row.wrap_up_until,
        )
        for row in await repo.list_presence(conn, vendor.id)
    ]
