"""Cursor pagination, the same on every list endpoint.

A list answers at most `limit` items and a `next_cursor`: pass it back as `cursor` for the
next page; it is null on the last page. A cursor is the sort key of the last item given
(keyset pagination): pages stay fast however deep, and an item added or removed meanwhile
never shifts the others between pages (one that moves across the cursor may be seen twice
or not at all, as in any live list: a client that must not miss any re-reads).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query

from .inputs import contains_nul
from .problems import Problem, ProblemCode

__all__ = [
    "CursorParam",
    "LimitParam",
    "decode_cursor",
    "encode_cursor",
    "int_key",
    "next_page",
    "text_key",
    "time_key",
]

T = TypeVar("T")

MAX_LIMIT = 200

LimitParam = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="At most this many items (1 to 200).")
]
CursorParam = Annotated[
    str | None,
    Query(
        max_length=500,
        description="The `next_cursor` of the previous page; omit it for the first page.",
    ),
]


def encode_cursor(*values: str) -> str:
    """An opaque cursor holding the sort key of the last item on a page."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> tuple[str, ...] | None:
    """The sort key in a cursor this server made; 422 for anything else."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if (
        not isinstance(values, list)
        or len(values) != arity
        or not all(isinstance(v, str) and _storable(v) for v in values)
    ):
        raise _not_ours()
    return tuple(values)


def _storable(value: str) -> bool:
    # A NUL or a lone surrogate is no key we issued, and PostgreSQL would refuse it (a 500).
    if contains_nul(value):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def time_key(cursor: str | None) -> tuple[datetime, str] | None:
    """A `(created_at, id)` key from a cursor (the order of sessions and invites)."""
    values = decode_cursor(cursor, 2)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values[0]), values[1]
    except ValueError:
        raise _not_ours() from None


def text_key(cursor: str | None, pattern: str) -> str | None:
    """A one-string key matching `pattern` from a cursor (a team's name)."""
    values = decode_cursor(cursor, 1)
    if values is None:
        return None
    if re.fullmatch(pattern, values[0]) is None:
        raise _not_ours()
    return values[0]


def int_key(cursor: str | None) -> int | None:
    """A one-integer key from a cursor (a user id)."""
    values = decode_cursor(cursor, 1)
    if values is None:
        return None
    try:
        key = int(values[0])
    except ValueError:
        key = None
    # Beyond a BIGINT PostgreSQL would refuse the comparison: no id is there anyway.
    if key is None or not -(2**63) <= key < 2**63:
        raise _not_ours()
    return key


def next_page(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]]
) -> tuple[Sequence[T], str | None]:
    """The page out of `limit + 1` rows read, and the cursor after it (None: the last)."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(
        *(v.isoformat() if isinstance(v, datetime) else str(v) for v in key(page[-1]))
    )


def _not_ours() -> Problem:
    return Problem(422, ProblemCode.VALIDATION_FAILED, "cursor: not a cursor this server issued.")
