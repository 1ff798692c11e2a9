"""Member roles: what a user is to a vendor."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MANAGER_ROLES", "MemberRole"]


# Not a participant's role in a session: that is `domain.Role`.
class MemberRole(StrEnum):
    """A user's role in a vendor: owners and admins manage it, agents take its calls."""

    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


# Owners and admins manage the vendor and see all of its sessions and its feed.
MANAGER_ROLES = frozenset({MemberRole.OWNER, MemberRole.ADMIN})
