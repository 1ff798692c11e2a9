"""Writes of vendors, members and contacts (reads are in `vendors`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import contacts, members, team_members, vendors
from ..vendors import ContactRow

__all__ = [
    "delete_member",
    "insert_contact",
    "insert_vendor",
    "list_contacts",
    "update_vendor",
    "upsert_member",
    "vendor_settings",
]


async def insert_vendor(
    conn: AsyncConnection,
    slug: str,
    name: str,
    ring_timeout_s: float,
    end_sessions_with_room: bool | None,
    now: datetime,
) -> None:
    await conn.execute(
        vendors.insert().values(
            slug=slug,
            name=name,
            ring_timeout_s=ring_timeout_s,
            end_sessions_with_room=end_sessions_with_room,
            created_at=now,
        )
    )


_SETTINGS = (
    vendors.c.slug,
    vendors.c.name,
    vendors.c.ring_timeout_s,
    vendors.c.end_sessions_with_room,
    vendors.c.created_at,
)


async def vendor_settings(conn: AsyncConnection, vendor_id: int) -> dict[str, Any]:
    """The vendor's own row: slug, name, settings, created_at."""
    row = (await conn.execute(sa.select(*_SETTINGS).where(vendors.c.id == vendor_id))).one()
    return dict(row._mapping)


async def update_vendor(conn: AsyncConnection, vendor_id: int, values: dict[str, Any]) -> None:
    await conn.execute(vendors.update().where(vendors.c.id == vendor_id).values(**values))


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


async def list_contacts(
    conn: AsyncConnection,
    vendor_id: int,
    *,
    limit: int | None = None,
    after: tuple[str, str] | None = None,
) -> list[tuple[ContactRow, datetime]]:
    """The vendor's contacts by name (then id), from after the `(name, id)` key `after`."""
    query = (
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
    if after is not None:
        query = query.where(sa.tuple_(contacts.c.name, contacts.c.id) > sa.tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    rows = await conn.execute(query)
    return [(ContactRow(*row[:5]), row[5]) for row in rows]
