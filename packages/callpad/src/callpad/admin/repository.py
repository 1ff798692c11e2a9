"""Queries for vendors, members, contacts and teams."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import contacts, members, team_members, vendors

__all__ = [
    "ContactRow",
    "VendorRow",
    "delete_member",
    "get_contact",
    "get_vendor",
    "get_vendor_with_roles",
    "insert_contact",
    "insert_vendor",
    "list_contacts",
    "member_role",
    "member_roles",
    "upsert_member",
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


_VENDOR_WITH_ROLES = (
    sa.select(
        vendors.c.id,
        vendors.c.slug,
        vendors.c.name,
        vendors.c.ring_timeout_s,
        members.c.user_id,
        members.c.role,
    )
    .outerjoin(
        members,
        sa.and_(
            members.c.vendor_id == vendors.c.id,
            members.c.user_id.in_(sa.bindparam("user_ids", expanding=True)),
        ),
    )
    .where(vendors.c.slug == sa.bindparam("slug"))
)


async def get_vendor_with_roles(
    conn: AsyncConnection, slug: str, user_ids: Iterable[int]
) -> tuple[VendorRow, dict[int, str]] | None:
    """A vendor and the roles of those of `user_ids` who are its members, in one query."""
    params = {"slug": slug, "user_ids": sorted(set(user_ids))}
    rows = (await conn.execute(_VENDOR_WITH_ROLES, params)).all()
    if not rows:
        return None
    vendor = VendorRow(rows[0].id, rows[0].slug, rows[0].name, rows[0].ring_timeout_s)
    return vendor, {int(r.user_id): r.role for r in rows if r.user_id is not None}


async def member_role(conn: AsyncConnection, vendor_id: int, user_id: int) -> str | None:
    return (
        await conn.execute(
            sa.select(members.c.role).where(
                members.c.vendor_id == vendor_id, members.c.user_id == user_id
            )
        )
    ).scalar_one_or_none()


async def member_roles(
    conn: AsyncConnection, vendor_id: int, user_ids: Iterable[int] | None = None
) -> dict[int, str]:
    """Members of the vendor with their role: all of them, or those among `user_ids`."""
    query = sa.select(members.c.user_id, members.c.role).where(members.c.vendor_id == vendor_id)
    if user_ids is not None:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        query = query.where(members.c.user_id.in_(wanted))
    return {int(user_id): role for user_id, role in await conn.execute(query)}


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


async def insert_vendor(
    conn: AsyncConnection, slug: str, name: str, ring_timeout_s: float, now: datetime
) -> None:
    await conn.execute(
        vendors.insert().values(slug=slug, name=name, ring_timeout_s=ring_timeout_s, created_at=now)
    )


async def upsert_member(
    conn: AsyncConnection, vendor_id: int, user_id: int, role: str, now: datetime
) -> None:
    updated = await conn.execute(
        members.update()
        .where(members.c.vendor_id == vendor_id, members.c.user_id == user_id)
        .values(role=role)
    )
    if updated.rowcount == 0:
        await conn.execute(
            members.insert().values(vendor_id=vendor_id, user_id=user_id, role=role, created_at=now)
        )


async def delete_member(conn: AsyncConnection, vendor_id: int, user_id: int) -> bool:
    deleted = await conn.execute(
        members.delete().where(members.c.vendor_id == vendor_id, members.c.user_id == user_id)
    )
    await conn.execute(
        team_members.delete().where(
            team_members.c.vendor_id == vendor_id, team_members.c.user_id == user_id
        )
    )
    return deleted.rowcount > 0


async def insert_contact(conn: AsyncConnection, contact: ContactRow, now: datetime) -> None:
    await conn.execute(
        contacts.insert().values(
            id=contact.id,
            vendor_id=contact.vendor_id,
            name=contact.name,
            phone=contact.phone,
            user_id=contact.user_id,
            created_at=now,
        )
    )


async def list_contacts(conn: AsyncConnection, vendor_id: int) -> list[tuple[ContactRow, datetime]]:
    rows = await conn.execute(
        sa.select(
            contacts.c.id,
            contacts.c.vendor_id,
            contacts.c.name,
            contacts.c.phone,
            contacts.c.user_id,
            contacts.c.created_at,
        )
        .where(contacts.c.vendor_id == vendor_id)
        .order_by(contacts.c.name, contacts.c.id)
    )
    return [(ContactRow(*row[:5]), row[5]) for row in rows]
