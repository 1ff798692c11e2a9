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
    "VendorView",
]


class VendorCreate(RequestModel):
    slug: Slug
    name: VendorName
    ring_timeout_s: RingTimeout | None = None


class VendorView(BaseModel):
    slug: str
    name: str
    ring_timeout_s: float
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
