"""Administration use cases, shared by the HTTP API and the `callpad admin` CLI."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..phone import normalize_phone
from ..problems import Problem, ProblemCode
from ..realtime.channels import vendor_feed
from ..realtime.outbox import OutboxEvent, write_events
from . import repository as repo
from .repository import ContactRow, VendorRow
from .schemas import ContactCreate, PresenceView, VendorView

__all__ = [
    "MANAGER_ROLES",
    "create_contact",
    "create_vendor",
    "remove_member",
    "require_manager",
    "require_member",
    "require_vendor",
    "set_member",
    "set_presence",
    "set_team",
]

# Owners and admins manage the vendor and see all of its sessions and its feed.
MANAGER_ROLES = frozenset({"owner", "admin"})


async def require_vendor(conn: AsyncConnection, slug: str) -> VendorRow:
    vendor = await repo.get_vendor(conn, slug)
    if vendor is None:
        raise Problem(404, ProblemCode.VENDOR_NOT_FOUND, f"No vendor {slug!r}.")
    return vendor


async def require_member(conn: AsyncConnection, vendor: VendorRow, user_id: int) -> str:
    role = await repo.member_role(conn, vendor.id, user_id)
    if role is None:
        raise Problem(403, ProblemCode.FORBIDDEN, f"You are not a member of {vendor.slug!r}.")
    return role


async def require_manager(conn: AsyncConnection, vendor: VendorRow, user_id: int) -> None:
    if await require_member(conn, vendor, user_id) not in MANAGER_ROLES:
        raise Problem(
            403, ProblemCode.FORBIDDEN, f"Only owners and admins of {vendor.slug!r} may do this."
        )


async def create_vendor(
    conn: AsyncConnection, slug: str, name: str, ring_timeout_s: float, now: datetime
) -> VendorView:
    if await repo.get_vendor(conn, slug) is not None:
        raise Problem(409, ProblemCode.VENDOR_EXISTS, f"Vendor {slug!r} already exists.")
    try:
        async with conn.begin_nested():
            await repo.insert_vendor(conn, slug, name, ring_timeout_s, now)
    except IntegrityError as exc:  # a concurrent create with the same slug
        raise Problem(409, ProblemCode.VENDOR_EXISTS, f"Vendor {slug!r} already exists.") from exc
    return VendorView(slug=slug, name=name, ring_timeout_s=ring_timeout_s, created_at=now)


async def set_member(
    conn: AsyncConnection, slug: str, user_id: int, role: str, now: datetime
) -> VendorRow:
    vendor = await require_vendor(conn, slug)
    await repo.upsert_member(conn, vendor.id, user_id, role, now)
    return vendor


async def remove_member(conn: AsyncConnection, slug: str, user_id: int) -> None:
    vendor = await require_vendor(conn, slug)
    if not await repo.delete_member(conn, vendor.id, user_id):
        raise Problem(404, ProblemCode.MEMBER_NOT_FOUND, f"User {user_id} is not a member.")


async def create_contact(
    conn: AsyncConnection, vendor: VendorRow, body: ContactCreate, now: datetime
) -> tuple[ContactRow, datetime]:
    if body.phone is None and body.user_id is None:
        raise Problem(422, ProblemCode.INVALID_TARGET, "A contact needs a phone or a user_id.")
    phone = normalize_phone(body.phone) if body.phone is not None else None
    contact = ContactRow(f"con_{uuid.uuid4().hex}", vendor.id, body.name, phone, body.user_id)
    await repo.insert_contact(conn, contact, now)
    return contact, now


async def set_team(
    conn: AsyncConnection, vendor: VendorRow, team: str, user_ids: list[int], now: datetime
) -> list[int]:
    unique = list(dict.fromkeys(user_ids))
    roles = await repo.member_roles(conn, vendor.id, unique)
    strangers = [uid for uid in unique if uid not in roles]
    if strangers:
        raise Problem(
            422,
            ProblemCode.INVALID_TARGET,
            f"Not members of {vendor.slug!r}: {', '.join(map(str, strangers))}.",
        )
    await repo.replace_team(conn, vendor.id, team, unique, now)
    return unique


async def set_presence(
    conn: AsyncConnection, vendor: VendorRow, user_id: int, status: str, now: datetime
) -> PresenceView:
    await require_member(conn, vendor, user_id)
    await repo.upsert_presence(conn, vendor.id, user_id, status, now)
    view = PresenceView(vendor=vendor.slug, user_id=user_id, status=status, updated_at=now)
    event = OutboxEvent(
        "presence.upsert", view.model_dump(mode="json"), (vendor_feed(vendor.slug),)
    )
    await write_events(conn, [event], now)
    return view
