"""HTTP shapes for vendors, members, contacts, teams and presence."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

__all__ = [
    "ContactCreate",
    "ContactList",
    "ContactView",
    "MemberPut",
    "MemberView",
    "PresencePut",
    "PresenceView",
    "TeamPut",
    "TeamView",
    "VendorCreate",
    "VendorView",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Role = Literal["owner", "admin", "agent"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VendorCreate(_Request):
    slug: str = Field(pattern=SLUG_PATTERN, examples=["acme"])
    name: str = Field(min_length=1, max_length=200)
    ring_timeout_s: float | None = Field(default=None, gt=0, le=600)


class VendorView(BaseModel):
    slug: str
    name: str
    ring_timeout_s: float
    created_at: datetime


class MemberPut(_Request):
    role: Role


class MemberView(BaseModel):
    vendor: str
    user_id: int
    role: Role


class ContactCreate(_Request):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, examples=["+12025550100"])
    user_id: PositiveInt | None = None


class ContactView(BaseModel):
    id: str
    vendor: str
    name: str
    phone: str | None
    user_id: int | None
    created_at: datetime


class ContactList(BaseModel):
    contacts: list[ContactView]


class TeamPut(_Request):
    members: list[PositiveInt] = Field(max_length=500)


class TeamView(BaseModel):
    vendor: str
    team: str
    members: list[int]


class PresencePut(_Request):
    status: Literal["available", "away"]


class PresenceView(BaseModel):
    vendor: str
    user_id: int
    status: Literal["available", "away"]
    updated_at: datetime
