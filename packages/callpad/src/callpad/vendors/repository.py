"""Reads of vendors, their members and their contacts: what every feature looks up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import contacts, members, sessions, vendors
from .roles import MemberRole

__all__ = [
    "ContactRow",
    "VendorRow",
    "get_contact",
    "get_vendor",
    "get_vendor_with_roles",
    "member_role",
    "member_roles",
    "member_vendors",
    "session_ends_with_room",
]


@dataclass(frozen=True, slots=True)
class VendorRow:
    id: int
    slug: str
    name: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class ContactRow:
    id: str
    vendor_id: int
    name: str
    phone: str | None
    user_id: int | None


async def get_vendor(conn: AsyncConnection, slug: str) -> VendorRow | None:
    row = (
        await conn.execute(
            sa.select(vendors.c.id, vendors.c.slug, vendors.c.name, vendors.c.ring_timeout_s).where(
                vendors.c.slug == slug
            )
        )
    ).first()
    return VendorRow(*row) if row else None


def _vendor_with_roles(users: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return (
        sa.select(
            vendors.c.id,
            vendors.c.slug,
            vendors.c.name,
            vendors.c.ring_timeout_s,
            members.c.user_id,
            members.c.role,
        )
        .outerjoin(members, sa.and_(members.c.vendor_id == vendors.c.id, users))
        .where(vendors.c.slug == sa.bindparam("slug"))
    )


_VENDOR_WITH_ROLES = _vendor_with_roles(
    members.c.user_id.in_(sa.bindparam("user_ids", expanding=True))
)
# A call's start asks for its caller and its target: two fixed parameters (the same user
# twice for one) spare SQLAlchemy rewriting an expanding IN list's SQL on every start.
_VENDOR_WITH_TWO_ROLES = _vendor_with_roles(
    members.c.user_id.in_(
        [sa.bindparam(name, type_=members.c.user_id.type) for name in ("user_a", "user_b")]
    )
)


async def get_vendor_with_roles(
    conn: AsyncConnection, slug: str, user_ids: Iterable[int]
) -> tuple[VendorRow, dict[int, MemberRole]] | None:
    """A vendor and the roles of those of `user_ids` who are its members, in one query."""
    wanted = sorted(set(user_ids))
    if 1 <= len(wanted) <= 2:
        params = {"slug": slug, "user_a": wanted[0], "user_b": wanted[-1]}
        rows = (await conn.execute(_VENDOR_WITH_TWO_ROLES, params)).all()
    else:
        rows = (await conn.execute(_VENDOR_WITH_ROLES, {"slug": slug, "user_ids": wanted})).all()
    if not rows:
        return None
    vendor = VendorRow(rows[0].id, rows[0].slug, rows[0].name, rows[0].ring_timeout_s)
    return vendor, {int(r.user_id): MemberRole(r.role) for r in rows if r.user_id is not None}


async def member_role(conn: AsyncConnection, vendor_id: int, user_id: int) -> MemberRole | None:
    role = (
        await conn.execute(
            sa.select(members.c.role).where(
                members.c.vendor_id == vendor_id, members.c.user_id == user_id
            )
        )
    ).scalar_one_or_none()
    return MemberRole(role) if role is not None else None


async def member_roles(
    conn: AsyncConnection, vendor_id: int, user_ids: Iterable[int] | None = None
) -> dict[int, MemberRole]:
    """Members of the vendor with their role: all of them, or those among `user_ids`."""
    query = sa.select(members.c.user_id, members.c.role).where(members.c.vendor_id == vendor_id)
    if user_ids is not None:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        query = query.where(members.c.user_id.in_(wanted))
    return {int(user_id): MemberRole(role) for user_id, role in await conn.execute(query)}


async def member_vendors(conn: AsyncConnection, user_id: int) -> list[str]:
    """The slugs of the vendors the user is a member of, sorted."""
    query = (
        sa.select(vendors.c.slug)
        .join(members, members.c.vendor_id == vendors.c.id)
        .where(members.c.user_id == user_id)
        .order_by(vendors.c.slug)
    )
    return list((await conn.execute(query)).scalars())


async def get_contact(conn: AsyncConnection, vendor_id: int, contact_id: str) -> ContactRow | None:
    row = (
        await conn.execute(
            sa.select(
                contacts.c.id,
                contacts.c.vendor_id,
                contacts.c.name,
                contacts.c.phone,
                contacts.c.user_id,
            ).where(contacts.c.id == contact_id, contacts.c.vendor_id == vendor_id)
        )
    ).first()
    return ContactRow(*row) if row else None


async def session_ends_with_room(conn: AsyncConnection, session_id: str) -> bool | None:
    """The choice of the session's vendor: does its session end when its media room
    finishes? None: the vendor did not choose (or there is no such session)."""
    chosen = await conn.execute(
        sa.select(vendors.c.end_sessions_with_room)
        .join(sessions, sessions.c.vendor_id == vendors.c.id)
        .where(sessions.c.id == session_id)
    )
    return chosen.scalar_one_or_none()
