"""FastAPI dependencies: the app context, the calling user, the admin key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from .context import AppContext

__all__ = ["Admin", "Ctx", "CurrentUser", "get_context"]


# Dependencies are `async def` even with nothing to await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request.
async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


async def _current_user(
    ctx: Ctx,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> int:
    return await ctx.verifier.user_id(authorization)


async def _admin(
    ctx: Ctx,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    ctx.verifier.check_admin(authorization)


CurrentUser = Annotated[int, Depends(_current_user)]
Admin = Annotated[None, Depends(_admin)]
