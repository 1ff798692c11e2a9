"""The access checks on a vendor."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ..problems import Problem, ProblemCode
from . import repository as repo
from .repository import VendorRow
from .roles import MANAGER_ROLES, MemberRole

__all__ = ["require_manager", "require_member", "require_vendor"]


async def require_vendor(conn: AsyncConnection, slug: str) -> VendorRow:
    vendor = await repo.get_vendor(conn, slug)
    if vendor is None:
        raise Problem(404, ProblemCode.VENDOR_NOT_FOUND, f"No vendor {slug!r}.")
    return vendor


async def require_member(conn: AsyncConnection, vendor: VendorRow, user_id: int) -> MemberRole:
    role = await repo.member_role(conn, vendor.id, user_id)
    if role is None:
        raise Problem(403, ProblemCode.FORBIDDEN, f"You are not a member of {vendor.slug!r}.")
    return role


async def require_manager(conn: AsyncConnection, vendor: VendorRow, user_id: int) -> None:
    if await require_member(conn, vendor, user_id) not in MANAGER_ROLES:
        raise Problem(
            403, ProblemCode.FORBIDDEN, f"Only owners and admins of {vendor.slug!r} may do this."
        )
