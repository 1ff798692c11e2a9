"""Realtime grants: where to connect and a connection token for the caller's own channels."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..config import Settings
from ..dependencies import Ctx, CurrentUser
from ..problems import problem_responses
from ..vendors import member_vendors, require_member, require_vendor
from .access import customer_channels, member_channels
from .tokens import mint_connection_token

__all__ = ["RealtimeGrant", "hub_url", "router"]

router = APIRouter(tags=["realtime"])

HUB_PATH = "/connection/websocket"


class RealtimeGrant(BaseModel):
    """Connect a Centrifugo client to `url` with `token`; it is subscribed to `channels`."""

    url: str = Field(description="WebSocket URL: the embedded hub, or Centrifugo in production.")
    token: str = Field(description="Connection token (HS256 JWT: sub, exp, channels).")
    channels: list[str] = Field(description="Channels the connection is subscribed to.")
    expires_at: datetime = Field(description="When the token expires; fetch a new grant then.")
    member_of: list[str] = Field(
        default_factory=list,
        description="Customer grants: the vendors the caller is a member of. What those "
        "vendors send the caller as a member (invites, their sessions) is published on "
        "vendor-scoped channels, which a vendor grant names, not on this one.",
    )


def hub_url(settings: Settings) -> str:
    """The WebSocket URL clients connect to in the configured mode."""
    if settings.realtime_mode == "centrifugo":
        return settings.realtime_centrifugo_url
    base = settings.public_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + HUB_PATH


def _grant(settings: Settings, user_id: int, channels: list[str]) -> RealtimeGrant:
    token, expires_at = mint_connection_token(
        settings.realtime_hmac_secret, user_id, channels, settings.realtime_token_ttl_s
    )
    return RealtimeGrant(
        url=hub_url(settings),
        token=token,
        channels=channels,
        expires_at=datetime.fromtimestamp(expires_at, UTC),
    )


@router.get(
    "/realtime/grant",
    operation_id="get_realtime_grant",
    response_model=RealtimeGrant,
    responses=problem_responses(),
)
async def get_realtime_grant(ctx: Ctx, user_id: CurrentUser) -> RealtimeGrant:
    """A grant for the caller as a customer: their global user channel."""
    async with ctx.db.read() as conn:
        vendors = await member_vendors(conn, user_id)
    grant = _grant(ctx.settings, user_id, customer_channels(user_id))
    grant.member_of = vendors
    return grant


@router.get(
    "/vendors/{vendor}/realtime/grant",
    operation_id="get_vendor_realtime_grant",
    response_model=RealtimeGrant,
    responses=problem_responses(403, 404),
)
async def get_vendor_realtime_grant(vendor: str, ctx: Ctx, user_id: CurrentUser) -> RealtimeGrant:
    """A grant for a member: their vendor-scoped channel; owners and admins also the feed."""
    async with ctx.db.read() as conn:
        found = await require_vendor(conn, vendor)
        role = await require_member(conn, found, user_id)
    return _grant(ctx.settings, user_id, member_channels(found.slug, user_id, role))
