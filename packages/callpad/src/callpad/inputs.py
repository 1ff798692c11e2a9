"""What the API accepts, in one place: the HTTP schemas and the CLI both validate with these.

- Integers are bounded to what the database stores (user ids are BIGINT), so no value a
  client sends can overflow a column: it is refused as invalid input first.
- Text never holds NUL: PostgreSQL cannot store it, and SQLite would keep what PostgreSQL
  refuses. Request models refuse it in every string field; paths are checked as they
  arrive (`reject_nul_in_path`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from annotated_types import Gt, Le
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .problems import Problem, ProblemCode

__all__ = [
    "IF_MATCH_MAX_LENGTH",
    "IF_MATCH_PATTERN",
    "MAX_BIGINT",
    "MAX_VERSION",
    "NUL_MESSAGE",
    "TEAM_PATTERN",
    "RequestModel",
    "RingTimeout",
    "Slug",
    "TokenTtl",
    "UserId",
    "VendorName",
    "canonical_user_id",
    "contains_nul",
    "parse_if_match",
]

NUL_MESSAGE = "must not contain NUL characters"
MAX_BIGINT = 2**63 - 1
"""The largest user id: the database stores user ids as signed 64-bit integers."""
MAX_VERSION = 2**31 - 1
"""The largest session version: stored as a signed 32-bit integer."""

UserId = Annotated[int, Gt(0), Le(MAX_BIGINT)]
"""A Callpad user id: 1 to 2^63 - 1."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
TEAM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""A team's name: lowercase letters, digits, `-` and `_`; 1 to 64 characters."""
Slug = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        examples=["acme"],
        description="Lowercase letters, digits and dashes; 1 to 63 characters.",
    ),
]
VendorName = Annotated[str, Field(min_length=1, max_length=200)]
RingTimeout = Annotated[float, Field(gt=0, le=600, description="Seconds, at most 600.")]
TokenTtl = Annotated[int, Gt(0), Le(366 * 24 * 3600)]
"""A dev token's lifetime in seconds: at least one, at most a year."""

_CANONICAL_USER_ID = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)


def canonical_user_id(text: str) -> int | None:
    """The user id written in `text` in canonical decimal form (ASCII digits, no sign, no
    leading zero, in range), else None: "7" is user 7, "07" and an Arabic-Indic seven are no one."""
    if _CANONICAL_USER_ID.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= MAX_BIGINT else None


IF_MATCH_PATTERN = r'^(?:(?:W/)?"[0-9]{1,10}"|[0-9]{1,10})$'
IF_MATCH_MAX_LENGTH = 14
_IF_MATCH = re.compile(r'(?:W/)?"([0-9]{1,10})"|([0-9]{1,10})', re.ASCII)


def parse_if_match(header: str) -> int:
    """The session version an `If-Match` header names: `"7"`, `W/"7"` or `7`. Anything
    else, or a version no session can reach, is a 422 problem."""
    found = _IF_MATCH.fullmatch(header.strip())
    version = int(found[1] or found[2]) if found else MAX_VERSION + 1
    if version > MAX_VERSION:
        raise Problem(
            422,
            ProblemCode.VALIDATION_FAILED,
            f'If-Match must be a session version from 0 to {MAX_VERSION}: "7", W/"7" or 7.',
        )
    return version


def contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class RequestModel(BaseModel):
    """A request body: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
