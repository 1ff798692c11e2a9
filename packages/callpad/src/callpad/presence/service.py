"""Presence use cases: a member says whether they take calls; everyone sees it live."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.transaction import after_commit
from ..pagination import next_page
from ..realtime.channels import agent_channel, vendor_feed
from ..realtime.outbox import OutboxEvent, write_events
from ..vendors import member_roles, require_member, require_vendor
from . import repository as repo
from .schemas import PresenceList, PresenceView

__all__ = ["list_presence", "offline_after_grace", "record_realtime_users", "set_my_presence"]


async def set_my_presence(
    conn: AsyncConnection, vendor_slug: str, user_id: int, status: str, now: datetime
) -> PresenceView:
    """Set the caller's status and publish `presence.upsert` to every member (on their
    vendor-scoped channels) and the vendor feed. An agent turning available wakes the
    dispatch queue of every process at once, when calls wait in it."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_member(conn, vendor, user_id)
    row = await repo.set_status(conn, vendor.id, user_id, status, now)
    view = await _publish(conn, vendor.id, vendor.slug, row, now)
    committed = after_commit(conn)
    committed.presence_set = True  # a gone member's grace restarts now
    if status == "available":
        committed.agents_freed = True
    return view


async def record_realtime_users(
    conn: AsyncConnection, user_ids: Collection[int], now: datetime
) -> None:
    """These users were seen connected at `now` (this process's hub, or Centrifugo's presence)."""
    await repo.record_connected(conn, user_ids, now)


async def offline_after_grace(
    conn: AsyncConnection, grace: timedelta, now: datetime
) -> list[PresenceView]:
    """Set offline every member whose every realtime connection has been gone for `grace`
    (seen connected by no process since `now - grace`, and whose presence was not set
    since then), publishing each change as any presence change. A member who reconnected
    within the grace keeps their presence; one who never connected (presence driven
    through the API alone) is left alone."""
    gone = await repo.set_gone_members_offline(conn, now - grace, now)
    return [await _publish(conn, g.vendor_id, g.vendor, g.row, now) for g in gone]


async def _publish(
    conn: AsyncConnection, vendor_id: int, vendor: str, row: repo.PresenceRow, now: datetime
) -> PresenceView:
    """`presence.upsert` to every member (on their vendor-scoped channels) and the feed."""
    view = _view(vendor, row)
    members = sorted(await member_roles(conn, vendor_id))
    channels = (*(agent_channel(vendor, m) for m in members), vendor_feed(vendor))
    event = OutboxEvent("presence.upsert", view.model_dump(mode="json"), channels)
    await write_events(conn, [event], now)
    return view


async def list_presence(
    conn: AsyncConnection, vendor_slug: str, user_id: int, limit: int, after: int | None = None
) -> PresenceList:
    """A page of the members' statuses by user id, after the user id `after` (members)."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_member(conn, vendor, user_id)
    rows = await repo.list_presence(conn, vendor.id, limit=limit + 1, after=after)
    page, next_cursor = next_page(rows, limit, lambda row: (row.user_id,))
    return PresenceList(presence=[_view(vendor.slug, row) for row in page], next_cursor=next_cursor)


def _view(vendor: str, row: repo.PresenceRow) -> PresenceView:
    return PresenceView(
        vendor=vendor,
        user_id=row.user_id,
        status=row.status,
        updated_at=row.updated_at,
        wrap_up_until=row.wrap_up_until,
    )
