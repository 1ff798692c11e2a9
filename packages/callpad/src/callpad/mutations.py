"""What every state-changing request shares: one write transaction, `If-Match`,
`Idempotency-Key`, and the principal a stored response belongs to.

`Idempotency-Key` on POSTs: a retry returns the first response and never repeats the
effect. The key is stored with the response in the transaction of the change itself.
Two requests racing with one key: the loser's insert of the key conflicts, its transaction
rolls back, and it answers with the winner's response. Errors are not stored: nothing
changed, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from .clock import utcnow
from .context import AppContext, write_transaction
from .idempotency import find_response, remember_response
from .inputs import IF_MATCH_MAX_LENGTH, IF_MATCH_PATTERN, MAX_VERSION, parse_if_match
from .problems import Problem, ProblemCode

__all__ = [
    "IDEMPOTENCY_KEY",
    "IF_MATCH",
    "KEY_PATTERN",
    "MUTATION_HEADERS",
    "if_match_version",
    "run_mutation",
    "user_principal",
]

MAX_KEY_LENGTH = 200
KEY_PATTERN = r"^[!-~]{1,200}$"
_KEY = re.compile(KEY_PATTERN)
T = TypeVar("T")


def _header(name: str, description: str, pattern: str, max_length: int) -> dict[str, Any]:
    """An optional header as OpenAPI documents it. Mutations read `If-Match` and
    `Idempotency-Key` from the request themselves: declared as FastAPI parameters, they
    would be validated on every request for nothing."""
    return {
        "name": name.lower(),
        "in": "header",
        "required": False,
        "description": description,
        "schema": {
            "type": "string",
            "pattern": pattern,
            "maxLength": max_length,
            "title": name,
            "description": description,
        },
    }


IF_MATCH = _header(
    "If-Match",
    "Act only if the session is still at this version; 412 with the current view otherwise. "
    f'A version from 0 to {MAX_VERSION}, as an entity tag ("7", W/"7") or bare (7); '
    "anything else is 422 validation_failed.",
    pattern=IF_MATCH_PATTERN,
    max_length=IF_MATCH_MAX_LENGTH,
)
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Retries with the same key return the first response, once applied. "
    f"1 to {MAX_KEY_LENGTH} visible ASCII characters (! to ~, no spaces), a UUID for "
    "instance; anything else is 422 validation_failed.",
    pattern=KEY_PATTERN,
    max_length=MAX_KEY_LENGTH,
)
MUTATION_HEADERS: dict[str, Any] = {"parameters": [IF_MATCH, IDEMPOTENCY_KEY]}


def if_match_version(request: Request) -> int | None:
    """The session version named by `If-Match`, if any."""
    if_match = request.headers.get("if-match")
    return None if if_match is None else parse_if_match(if_match)


def user_principal(user_id: int) -> str:
    """Whose `Idempotency-Key`s a user's requests use."""
    return f"user:{user_id}"


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
                stored = await find_response(conn, principal, key)
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
                        await remember_response(
                            conn, principal, key, fingerprint, status_code, body, now
                        )
                except IntegrityError as exc:
                    raise _KeyTaken from exc
            return JSONResponse(body, status_code)
        except _KeyTaken:
            continue  # a concurrent request with this key committed first: replay it
    raise Problem(409, ProblemCode.INVALID_STATE, "The request is already being processed.")
