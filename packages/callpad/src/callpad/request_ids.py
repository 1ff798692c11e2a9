"""`X-Request-Id`: every response names its request, and so do its problem and log lines.

A caller's own `X-Request-Id` (a short token of letters, digits and `._:-`) is kept, so an
id can follow a request through a proxy; otherwise the server makes one (`req_` and 24
hex digits). The id is answered in the `X-Request-Id` header of every HTTP response, as
`request_id` in every problem, and in the log line of every problem answered.
"""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID_HEADER", "RequestIds", "current_request_id"]

REQUEST_ID_HEADER = "X-Request-Id"
_HEADER = REQUEST_ID_HEADER.lower().encode()
_ACCEPTED = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_current: ContextVar[str | None] = ContextVar("callpad_request_id", default=None)
logger = logging.getLogger("callpad.requests")


def current_request_id() -> str | None:
    """The id of the HTTP request being answered, if any."""
    return _current.get()


def _new_id() -> str:
    return "req_" + secrets.token_hex(12)


class RequestIds:
    """ASGI middleware: gives each HTTP request its id, answers it, logs every problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == _HEADER), None)
        request_id = given.decode() if given and _ACCEPTED.fullmatch(given) else _new_id()
        header = (_HEADER, request_id.encode())
        token = _current.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == _HEADER for k, _ in headers):
                    headers.append(header)
                    message = {**message, "headers": headers}
                status = message["status"]
                if status >= 400:
                    logger.info(
                        "%s %s -> %d request_id=%s",
                        scope["method"],
                        scope["path"],
                        status,
                        request_id,
                    )
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Reset only on success: an exception goes on to the outermost error handler,
        # which answers the 500 problem with this id (problems.problem_response).
        _current.reset(token)
