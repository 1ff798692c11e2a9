"""Who may read which channel: one rule for the grants and for the hub's client subscribes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ..vendors import MANAGER_ROLES, MemberRole, get_vendor, member_role
from .channels import agent_channel, user_channel, vendor_feed

__all__ = ["customer_channels", "may_read", "member_channels"]


def customer_channels(user_id: int) -> list[str]:
    return [user_channel(user_id)]


def member_channels(vendor: str, user_id: int, role: MemberRole) -> list[str]:
    channels = [agent_channel(vendor, user_id)]
    if role in MANAGER_ROLES:  # the vendor feed, besides their own channel
        channels.append(vendor_feed(vendor))
    return channels


async def may_read(conn: AsyncConnection, user: str, channel: str) -> bool:
    """True when the grant rules would give `user` (a token's `sub`) this channel."""
    if not user.isdecimal():
        return False
    user_id = int(user)
    if channel == user_channel(user_id):
        return True
    namespace, _, rest = channel.partition(":")
    if namespace == "agent":
        vendor, _, owner = rest.partition("#")
        if owner != user:
            return False
    elif namespace == "vendor":
        vendor = rest
    else:
        return False
    row = await get_vendor(conn, vendor) if vendor else None
    if row is None:
        return False
    role = await member_role(conn, row.id, user_id)
    return role is not None and channel in member_channels(vendor, user_id, role)
