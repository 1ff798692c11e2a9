"""HTTP endpoints for presence (`/api/v1/vendors/{vendor}/presence`)."""

from __future__ import annotations

from fastapi import APIRouter

from ..clock import utcnow
from ..context import write_transaction
from ..dependencies import Ctx, CurrentUser
from ..pagination import CursorParam, LimitParam, int_key
from ..problems import problem_responses
from . import service
from .schemas import PresenceList, PresencePut, PresenceView

__all__ = ["router"]

router = APIRouter(tags=["presence"])


@router.put(
    "/vendors/{vendor}/presence/me",
    operation_id="put_my_presence",
    response_model=PresenceView,
    responses=problem_responses(403, 404, 413),
)
async def put_my_presence(
    vendor: str, body: PresencePut, ctx: Ctx, user_id: CurrentUser
) -> PresenceView:
    """Say whether you take calls (members): `available`, `away` or `offline`. Only
    available members are rung by team calls; `available` also ends after-call work."""
    async with write_transaction(ctx) as conn:
        return await service.set_my_presence(conn, vendor, user_id, body.status, utcnow())


@router.get(
    "/vendors/{vendor}/presence",
    operation_id="list_presence",
    response_model=PresenceList,
    responses=problem_responses(403, 404),
)
async def list_presence(
    vendor: str,
    ctx: Ctx,
    user_id: CurrentUser,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> PresenceList:
    """Every member's presence (members), by user id, a page at a time: page on with
    `cursor=next_cursor`. Changes arrive as `presence.upsert` on the vendor feed."""
    after = int_key(cursor)
    async with ctx.db.read() as conn:
        return await service.list_presence(conn, vendor, user_id, limit, after)
