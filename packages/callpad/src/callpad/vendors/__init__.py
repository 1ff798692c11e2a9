"""The kernel the features share: vendors, their members and member roles, and the access
checks every feature applies (`require_vendor`, `require_member`, `require_manager`)."""

from .access import require_manager, require_member, require_vendor
from .repository import (
    ContactRow,
    VendorRow,
    get_contact,
    get_vendor,
    get_vendor_with_roles,
    member_role,
    member_roles,
    member_vendors,
    session_ends_with_room,
)
from .roles import MANAGER_ROLES, MemberRole

__all__ = [
    "MANAGER_ROLES",
    "ContactRow",
    "MemberRole",
    "VendorRow",
    "get_contact",
    "get_vendor",
    "get_vendor_with_roles",
    "member_role",
    "member_roles",
    "member_vendors",
    "require_manager",
    "require_member",
    "require_vendor",
    "session_ends_with_room",
]
