"""`Idempotency-Key` on POSTs: a retry returns the first response and never repeats the effect.

The key is stored with the response in the transaction of the change itself, so a change
and its key commit together. Two requests racing with one key: the loser's insert of the
key conflicts, its transaction rolls back, and it answers with the winner's response.
Errors are not stored: nothing changed, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from .context import AppContext, utcnow, write_transaction
from .db.tables import idempotency_keys
from .problems import Problem, ProblemCode

__all__ = ["KEY_PATTERN", "MAX_KEY_LENGTH", "delete_expired_keys", "run_mutation"]

MAX_KEY_LENGTH = 200
KEY_PATTERN = r"^[!-~]{1,200}$"
_KEY = re.compile(KEY_PATTERN)
T = TypeVar("T")


class _KeyTaken(Exception):
    pass


async def run_mutation(
    ctx: AppContext,
    request: Request,
    principal: str,
    mutation: Callable[[AsyncConnection, datetime], Awaitable[T]],
    render: Callable[[T, datetime], BaseModel],
    status_code: int = 200,
) -> Response:
    """Run `mutation` in one write transaction, honouring `Idempotency-Key`, and answer
    with `render(result, now)`.

    `render` needs no database (views, media grants), so it runs after the commit, out of
    the write transaction; only a response to remember with a key is rendered inside it.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        async with write_transaction(ctx) as conn:
            result = await mutation(conn, utcnow())
        view = render(result, utcnow())
        # pydantic's own serializer: one pass, no intermediate dict.
        return Response(view.model_dump_json(), status_code, media_type="application/json")
    if _KEY.fullmatch(key) is None:
        raise Problem(
            422,
            ProblemCode.VALIDATION_FAILED,
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            "(! to ~, no spaces).",
        )
    fingerprint = hashlib.sha256(
        b"%s %s\n%s" % (request.method.encode(), request.url.path.encode(), await request.body())
    ).hexdigest()
    for _attempt in range(3):
        try:
            async with write_transaction(ctx) as conn:
                stored = await _lookup(conn, principal, key)
                if stored is not None:
                    stored_hash, stored_status, stored_body = stored
                    if stored_hash != fingerprint:
                        raise Problem(
                            422,
                            ProblemCode.IDEMPOTENCY_KEY_REUSED,
                            "This Idempotency-Key was used for a different request.",
                        )
                    return JSONResponse(
                        stored_body, stored_status, headers={"Idempotent-Replayed": "true"}
                    )
                now = utcnow()
                body = render(await mutation(conn, now), now).model_dump(mode="json")
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            idempotency_keys.insert().values(
                                principal=principal,
                                key=key,
                                request_hash=fingerprint,
                                status_code=status_code,
                                response=body,
                                created_at=now,
                            )
                        )
                except IntegrityError as exc:
                    raise _KeyTaken from exc
            return JSONResponse(body, status_code)
        except _KeyTaken:
            continue  # a concurrent request with this key committed first: replay it
    raise Problem(409, ProblemCode.INVALID_STATE, "The request is already being processed.")


async def _lookup(
    conn: AsyncConnection, principal: str, key: str
) -> tuple[str, int, dict[str, object]] | None:
    row = (
        await conn.execute(
            sa.select(
                idempotency_keys.c.request_hash,
                idempotency_keys.c.status_code,
                idempotency_keys.c.response,
            ).where(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
        )
    ).first()
    return (row.request_hash, row.status_code, row.response) if row else None


async def delete_expired_keys(conn: AsyncConnection, now: datetime, ttl_s: int) -> None:
    await conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.created_at < now - timedelta(seconds=ttl_s)
        )
    )
