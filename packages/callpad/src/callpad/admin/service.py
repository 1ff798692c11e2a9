"""Administration use cases, shared by the HTTP API and the `callpad admin` CLI."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..phone import normalize_phone
from ..problems import Problem, ProblemCode
from . import repository as repo
from .repository import ContactRow, VendorRow
from .schemas import ContactCreate, VendorView

__all__ = [
    "MANAGER_ROLES",
    "create_contact",
    "create_vendor",
    "remove_member",
    "require_manager",
    "require_member",
    "require_vendor",
    "set_member",
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
