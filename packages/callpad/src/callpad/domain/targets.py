"""Who a start or add-participant target rings, and as what: the rules, over the facts the
service read (memberships, the contact). Anyone may ring a vendor's member in their app;
only members may ring customers, contacts and phone numbers; nobody rings themselves.
Teams are rung by a dispatch (`dispatch.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ErrorCode, Forbidden, Invalid
from .model import Invitee, ParticipantKind, Role

__all__ = [
    "ContactCard",
    "contact_invitee",
    "customer_invitee",
    "member_invitee",
    "phone_invitee",
    "require_member_caller",
]


@dataclass(frozen=True, slots=True)
class ContactCard:
    """An address-book contact: a customer's user id, or a phone number."""

    id: str
    user_id: int | None
    phone: str | None


def member_invitee(vendor: str, caller: int, user_id: int, *, is_member: bool) -> Invitee:
    """A vendor's member, rung in their app as an agent."""
    _not_the_caller(caller, user_id)
    if not is_member:
        raise Invalid(ErrorCode.INVALID_TARGET, f"User {user_id} is not a member of {vendor!r}.")
    return Invitee(ParticipantKind.USER, Role.AGENT, user_id=user_id, member=True)


def require_member_caller(vendor: str, target_type: str, *, caller_is_member: bool) -> None:
    """Customers, contacts and phone numbers are rung only by the vendor's members."""
    if not caller_is_member:
        raise Forbidden(
            ErrorCode.TARGET_NOT_ALLOWED,
            f"Only members of {vendor!r} may call a {target_type} target.",
        )


def customer_invitee(caller: int, user_id: int, *, is_member: bool) -> Invitee:
    """A customer, rung in their app (a member too may be called as a customer)."""
    _not_the_caller(caller, user_id)
    return Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=user_id, member=is_member)


def contact_invitee(contact: ContactCard, *, user_is_member: bool) -> Invitee:
    """A contact that names a user is rung in their app; otherwise its phone is dialled."""
    if contact.user_id is not None:
        return Invitee(
            ParticipantKind.USER,
            Role.CUSTOMER,
            user_id=contact.user_id,
            contact_id=contact.id,
            member=user_is_member,
        )
    if contact.phone is None:
        raise Invalid(ErrorCode.INVALID_TARGET, "The contact has no phone or user.")
    return Invitee(ParticipantKind.PHONE, Role.GUEST, phone=contact.phone, contact_id=contact.id)


def phone_invitee(phone: str) -> Invitee:
    """A phone number (already in E.164), dialled as a guest."""
    return Invitee(ParticipantKind.PHONE, Role.GUEST, phone=phone)


def _not_the_caller(caller: int, user_id: int) -> None:
    if user_id == caller:
        raise Invalid(ErrorCode.INVALID_TARGET, "You cannot call yourself.")
