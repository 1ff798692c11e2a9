"""HTTP endpoints for teams (`/api/v1/vendors/{vendor}/teams`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from ..clock import utcnow
from ..context import write_transaction
from ..dependencies import Ctx, CurrentUser
from ..inputs import TEAM_PATTERN
from ..pagination import CursorParam, LimitParam, text_key
from ..problems import problem_responses
from . import service
from .schemas import TeamList, TeamPut, TeamView

__all__ = ["router"]

router = APIRouter(tags=["teams"])

TeamName = Annotated[str, Path(pattern=TEAM_PATTERN)]


@router.put(
    "/vendors/{vendor}/teams/{team}",
    operation_id="put_team",
    response_model=TeamView,
    responses=problem_responses(403, 404, 413),
)
async def put_team(
    vendor: str, team: TeamName, body: TeamPut, ctx: Ctx, user_id: CurrentUser
) -> TeamView:
    """Create or replace a team: members in ring order and dispatch settings (owners and
    admins). Calls already ringing the team keep the settings they started with."""
    async with write_transaction(ctx) as conn:
        return await service.put_team(conn, vendor, user_id, team, body, utcnow())


@router.get(
    "/vendors/{vendor}/teams/{team}",
    operation_id="get_team",
    response_model=TeamView,
    responses=problem_responses(403, 404),
)
async def get_team(vendor: str, team: TeamName, ctx: Ctx, user_id: CurrentUser) -> TeamView:
    """A team and its dispatch settings (members)."""
    async with ctx.db.read() as conn:
        return await service.get_team(conn, vendor, user_id, team)


@router.get(
    "/vendors/{vendor}/teams",
    operation_id="list_teams",
    response_model=TeamList,
    responses=problem_responses(403, 404),
)
async def list_teams(
    vendor: str,
    ctx: Ctx,
    user_id: CurrentUser,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> TeamList:
    """The vendor's teams (members), by name, a page at a time: page on with
    `cursor=next_cursor`."""
    after = text_key(cursor, TEAM_PATTERN)
    async with ctx.db.read() as conn:
        return await service.list_teams(conn, vendor, user_id, limit, after)


@router.delete(
    "/vendors/{vendor}/teams/{team}",
    operation_id="delete_team",
    status_code=204,
    responses=problem_responses(403, 404),
)
async def delete_team(vendor: str, team: TeamName, ctx: Ctx, user_id: CurrentUser) -> Response:
    """Delete a team (owners and admins)."""
    async with write_transaction(ctx) as conn:
        await service.delete_team(conn, vendor, user_id, team)
    return Response(status_code=204)
