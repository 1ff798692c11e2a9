"""HTTP shapes for vendors, members, contacts, teams and presence."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ..inputs import RequestModel, RingTimeout, Slug, UserId, VendorName
from ..vendors import MemberRole

__all__ = [
    "ContactCreate",
    "ContactList",
    "ContactView",
    "MemberPut",
    "MemberView",
    "VendorCreate",
    "VendorUpdate",
    "VendorView",
]

_END_SESSIONS_WITH_ROOM = (
    "Whether a session ends when its media room finishes (LiveKit's `room_finished`: the "
    "room emptied out, or was deleted): `completed` once answered, `failed` while ringing. "
    "Null: the deployment's default (`CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM`)."
)


class VendorCreate(RequestModel):
    slug: Slug
    name: VendorName
    ring_timeout_s: RingTimeout | None = None
    end_sessions_with_room: bool | None = Field(default=None, description=_END_SESSIONS_WITH_ROOM)


class VendorUpdate(RequestModel):
    """The settings to change; a field left out stays as it is, and
    `end_sessions_with_room: null` goes back to the deployment's default."""

    name: VendorName | None = None
    ring_timeout_s: RingTimeout | None = None
    end_sessions_with_room: bool | None = Field(default=None, description=_END_SESSIONS_WITH_ROOM)


class VendorView(BaseModel):
    slug: str
    name: str
    ring_timeout_s: float
    end_sessions_with_room: bool | None = Field(description=_END_SESSIONS_WITH_ROOM)
    created_at: datetime


class MemberPut(RequestModel):
    role: MemberRole


class MemberView(BaseModel):
    vendor: str
    user_id: int
    role: MemberRole


class ContactCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, examples=["+12025550100"])
    user_id: UserId | None = None


class ContactView(BaseModel):
    id: str
    vendor: str
    name: str
    phone: str | None
    user_id: int | None
    created_at: datetime


class ContactList(BaseModel):
    contacts: list[ContactView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )
