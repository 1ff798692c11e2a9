"""HTTP shapes of presence."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..inputs import RequestModel

__all__ = ["PresenceList", "PresencePut", "PresenceStatus", "PresenceView"]

PresenceStatus = Literal["available", "away", "offline"]


class PresencePut(RequestModel):
    """`available` takes calls (and ends any after-call work early); `away` and
    `offline` take none."""

    status: PresenceStatus


class PresenceView(BaseModel):
    vendor: str
    user_id: int
    status: PresenceStatus
    updated_at: datetime
    # After-call work: not rung before this time (null when none).
    wrap_up_until: datetime | None


class PresenceList(BaseModel):
    presence: list[PresenceView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )
