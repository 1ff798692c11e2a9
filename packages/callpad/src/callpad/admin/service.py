"""Administration use cases, shared by the HTTP API and the `callpad admin` CLI."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..pagination import next_page
from ..phone import normalize_phone
from ..problems import Problem, ProblemCode
from ..realtime.access import member_channels
from ..realtime.outbox import write_events
from ..realtime.revocations import revocation
from ..vendors import (
    ContactRow,
    MemberRole,
    VendorRow,
    get_vendor,
    member_role,
    require_manager,
    require_member,
    require_vendor,
)
from . import repository as repo
from .schemas import ContactCreate, ContactList, ContactView, VendorUpdate, VendorView

__all__ = [
    "create_contact",
    "create_vendor",
    "list_contacts",
    "remove_member",
    "set_member",
    "update_vendor",
    "vendor_view",
]


async def create_vendor(
    conn: AsyncConnection,
    slug: str,
    name: str,
    ring_timeout_s: float,
    now: datetime,
    end_sessions_with_room: bool | None = None,
) -> VendorView:
    if await get_vendor(conn, slug) is not None:
        raise Problem(409, ProblemCode.VENDOR_EXISTS, f"Vendor {slug!r} already exists.")
    try:
        async with conn.begin_nested():
            await repo.insert_vendor(conn, slug, name, ring_timeout_s, end_sessions_with_room, now)
    except IntegrityError as exc:  # a concurrent create with the same slug
        raise Problem(409, ProblemCode.VENDOR_EXISTS, f"Vendor {slug!r} already exists.") from exc
    return VendorView(
        slug=slug,
        name=name,
        ring_timeout_s=ring_timeout_s,
        end_sessions_with_room=end_sessions_with_room,
        created_at=now,
    )


async def vendor_view(conn: AsyncConnection, slug: str) -> VendorView:
    """The vendor and its settings (operator)."""
    vendor = await require_vendor(conn, slug)
    row = await repo.vendor_settings(conn, vendor.id)
    return VendorView.model_validate(row)


async def update_vendor(conn: AsyncConnection, slug: str, body: VendorUpdate) -> VendorView:
    """Change the settings `body` names (operator); the vendor's sessions read them when
    they need them, so a change applies to live sessions too."""
    vendor = await require_vendor(conn, slug)
    values = body.model_dump(include=body.model_fields_set)
    if values.get("name", "") is None or values.get("ring_timeout_s", 0) is None:
        named = "name" if values.get("name", "") is None else "ring_timeout_s"
        raise Problem(422, ProblemCode.VALIDATION_FAILED, f"{named} cannot be null.")
    if values:
        await repo.update_vendor(conn, vendor.id, values)
    return await vendor_view(conn, slug)


async def set_member(
    conn: AsyncConnection, slug: str, user_id: int, role: MemberRole, now: datetime
) -> VendorRow:
    vendor = await require_vendor(conn, slug)
    before = await member_role(conn, vendor.id, user_id)
    await repo.upsert_member(conn, vendor.id, user_id, role, now)
    await _revoke_lost_channels(conn, vendor, user_id, before, role, now)
    return vendor


async def remove_member(conn: AsyncConnection, slug: str, user_id: int, now: datetime) -> None:
    vendor = await require_vendor(conn, slug)
    before = await member_role(conn, vendor.id, user_id)
    if not await repo.delete_member(conn, vendor.id, user_id):
        raise Problem(404, ProblemCode.MEMBER_NOT_FOUND, f"User {user_id} is not a member.")
    await _revoke_lost_channels(conn, vendor, user_id, before, None, now)


async def _revoke_lost_channels(
    conn: AsyncConnection,
    vendor: VendorRow,
    user_id: int,
    before: MemberRole | None,
    after: MemberRole | None,
    now: datetime,
) -> None:
    """Realtime readers lose at once the vendor channels the new role does not grant."""

    def channels(role: MemberRole | None) -> list[str]:
        return [] if role is None else member_channels(vendor.slug, user_id, role)

    event = revocation(user_id, channels(before), channels(after))
    if event is not None:
        await write_events(conn, [event], now)


async def create_contact(
    conn: AsyncConnection, vendor_slug: str, user_id: int, body: ContactCreate, now: datetime
) -> ContactView:
    """Add an address-book contact (owners and admins)."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_manager(conn, vendor, user_id)
    if body.phone is None and body.user_id is None:
        raise Problem(422, ProblemCode.INVALID_TARGET, "A contact needs a phone or a user_id.")
    phone = normalize_phone(body.phone) if body.phone is not None else None
    contact = ContactRow(f"con_{uuid.uuid4().hex}", vendor.id, body.name, phone, body.user_id)
    await repo.insert_contact(conn, contact, now)
    return _contact_view(vendor, contact, now)


async def list_contacts(
    conn: AsyncConnection,
    vendor_slug: str,
    user_id: int,
    limit: int,
    after: tuple[str, str] | None = None,
) -> ContactList:
    """A page of the vendor's address book (members), by name, after the key `after`."""
    vendor = await require_vendor(conn, vendor_slug)
    await require_member(conn, vendor, user_id)
    rows = await repo.list_contacts(conn, vendor.id, limit=limit + 1, after=after)
    page, next_cursor = next_page(rows, limit, lambda row: (row[0].name, row[0].id))
    return ContactList(
        contacts=[_contact_view(vendor, c, at) for c, at in page], next_cursor=next_cursor
    )


def _contact_view(vendor: VendorRow, contact: ContactRow, created_at: datetime) -> ContactView:
    return ContactView(
        id=contact.id,
        vendor=vendor.slug,
        name=contact.name,
        phone=contact.phone,
        user_id=contact.user_id,
        created_at=created_at,
    )
