"""Operator administration (admin key) and vendor administration (owners, admins)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from ..clock import utcnow
from ..context import write_transaction
from ..dependencies import Admin, Ctx, CurrentUser
from ..inputs import UserId
from ..mutations import run_mutation, user_principal
from ..pagination import CursorParam, LimitParam, decode_cursor
from ..problems import problem_responses
from . import service
from .schemas import (
    ContactCreate,
    ContactList,
    ContactView,
    MemberPut,
    MemberView,
    VendorCreate,
    VendorUpdate,
    VendorView,
)

__all__ = ["router"]

router = APIRouter()
T = TypeVar("T", bound=BaseModel)


def _as_is(view: T, _now: datetime) -> T:
    return view


@router.post(
    "/admin/vendors",
    tags=["admin"],
    operation_id="create_vendor",
    status_code=201,
    response_model=VendorView,
    responses=problem_responses(409, 413),
)
async def create_vendor(body: VendorCreate, request: Request, ctx: Ctx, _admin: Admin) -> Response:
    """Create a vendor (operator admin key)."""
    ring_timeout = body.ring_timeout_s or ctx.settings.default_ring_timeout_s

    async def run(conn: AsyncConnection, now: datetime) -> VendorView:
        return await service.create_vendor(
            conn, body.slug, body.name, ring_timeout, now, body.end_sessions_with_room
        )

    return await run_mutation(ctx, request, "admin", run, _as_is, status_code=201)


@router.get(
    "/admin/vendors/{vendor}",
    tags=["admin"],
    operation_id="get_vendor",
    response_model=VendorView,
    responses=problem_responses(404),
)
async def get_vendor(vendor: str, ctx: Ctx, _admin: Admin) -> VendorView:
    """A vendor and its settings (operator admin key)."""
    async with ctx.db.read() as conn:
        return await service.vendor_view(conn, vendor)


@router.patch(
    "/admin/vendors/{vendor}",
    tags=["admin"],
    operation_id="update_vendor",
    response_model=VendorView,
    responses=problem_responses(404, 413),
)
async def update_vendor(vendor: str, body: VendorUpdate, ctx: Ctx, _admin: Admin) -> VendorView:
    """Change a vendor's settings (operator admin key): the fields sent, nothing else."""
    async with write_transaction(ctx) as conn:
        return await service.update_vendor(conn, vendor, body)


@router.put(
    "/admin/vendors/{vendor}/members/{user_id}",
    tags=["admin"],
    operation_id="put_member",
    response_model=MemberView,
    responses=problem_responses(404, 413),
)
async def put_member(
    vendor: str, user_id: UserId, body: MemberPut, ctx: Ctx, _admin: Admin
) -> MemberView:
    """Add a member to a vendor, or change their role (operator admin key)."""
    async with write_transaction(ctx) as conn:
        await service.set_member(conn, vendor, user_id, body.role, utcnow())
    return MemberView(vendor=vendor, user_id=user_id, role=body.role)


@router.delete(
    "/admin/vendors/{vendor}/members/{user_id}",
    tags=["admin"],
    operation_id="delete_member",
    status_code=204,
    responses=problem_responses(404),
)
async def delete_member(vendor: str, user_id: UserId, ctx: Ctx, _admin: Admin) -> Response:
    """Remove a member from a vendor (operator admin key)."""
    async with write_transaction(ctx) as conn:
        await service.remove_member(conn, vendor, user_id, utcnow())
    return Response(status_code=204)


@router.post(
    "/vendors/{vendor}/contacts",
    tags=["vendors"],
    operation_id="create_contact",
    status_code=201,
    response_model=ContactView,
    responses=problem_responses(403, 404, 413),
)
async def create_contact(
    vendor: str, body: ContactCreate, request: Request, ctx: Ctx, user_id: CurrentUser
) -> Response:
    """Add an address-book contact (owners and admins)."""

    async def run(conn: AsyncConnection, now: datetime) -> ContactView:
        return await service.create_contact(conn, vendor, user_id, body, now)

    return await run_mutation(ctx, request, user_principal(user_id), run, _as_is, status_code=201)


@router.get(
    "/vendors/{vendor}/contacts",
    tags=["vendors"],
    operation_id="list_contacts",
    response_model=ContactList,
    responses=problem_responses(403, 404),
)
async def list_contacts(
    vendor: str,
    ctx: Ctx,
    user_id: CurrentUser,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> ContactList:
    """The vendor's address book (members), by name. Page on with `cursor=next_cursor`."""
    key = decode_cursor(cursor, 2)
    async with ctx.db.read() as conn:
        return await service.list_contacts(
            conn, vendor, user_id, limit, (key[0], key[1]) if key else None
        )
