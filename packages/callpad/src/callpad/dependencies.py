"""FastAPI dependencies: the app context, the calling user, the admin key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .context import AppContext

__all__ = ["Admin", "Ctx", "CurrentUser", "get_context"]


# Dependencies are `async def` even with nothing to await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request.
async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


# Read from the request, not as FastAPI parameters: each declared parameter costs
# validation work on every request, and these need none.
async def _current_user(request: Request) -> int:
    ctx: AppContext = request.app.state.ctx
    return await ctx.verifier.user_id(request.headers.get("authorization"))


async def _admin(request: Request) -> None:
    ctx: AppContext = request.app.state.ctx
    ctx.verifier.check_admin(request.headers.get("authorization"))


CurrentUser = Annotated[int, Depends(_current_user)]
Admin = Annotated[None, Depends(_admin)]
