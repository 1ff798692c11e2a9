"""Every error the SDK raises. Methods raise these; they never return error wrappers.

    CallpadError                        every failure of the SDK: `message`, `request_id`
    ├── APIStatusError                  the server answered a problem (RFC 9457 problem+json):
    │   │                               `status`, `code`, `title`, `detail`, `problem`
    │   ├── BadRequestError             400 (and 422: the request does not validate)
    │   ├── AuthenticationError         401: no token, a bad one, or an expired one
    │   ├── PermissionDeniedError       403: the role or the session's state forbids it
    │   ├── NotFoundError               404: no such vendor or session, or not yours to see
    │   ├── ConflictError               409: someone else changed it first (the race's loser)
    │   ├── PreconditionFailedError     412: `if_match=` named an older version
    │   ├── RateLimitError              429
    │   └── InternalServerError         500 and above
    ├── APIConnectionError              the API could not be reached (DNS, refused, reset)
    │   ├── APITimeoutError             a request did not finish within its `timeout`
    │   ├── RealtimeConnectionError     the realtime connection failed: `url`, `cause`
    │   └── MediaConnectionError        the media room was not joined: `url`, `cause`, `answer`
    ├── InvalidRequestError             an argument is wrong; nothing was sent (also ValueError)
    ├── ConfigurationError              the client is set up wrong and would receive nothing
    └── ClientClosedError               the client was disposed and cannot be used again

`code` is the server's stable machine-readable code (`session_ended`,
`capability_missing`, `invite_not_pending`, ...; see docs/api.md). `request_id` is the
server's id of the request (its `X-Request-Id`), None when no answer came; quote it in a
report. Requests that fail with a connection error, 408, 429 or 5xx are retried first
(`max_retries`); the error is raised when the retries are spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CallpadError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "MediaConnectionError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RealtimeConnectionError",
    "status_error",
]


class CallpadError(Exception):
    """Every failure the SDK raises (see the module docstring for the tree)."""

    status: int | None = None
    code: str = "error"

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        suffix = f" (request_id {self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"


class APIStatusError(CallpadError):
    """The server answered with a problem; `problem` is the whole problem document."""

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        code: str = "http_error",
        title: str = "",
        problem: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(detail, request_id=request_id)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.problem: Mapping[str, Any] = dict(problem or {})

    @property
    def capability(self) -> str | None:
        """The missing capability of a `capability_missing` problem."""
        value = self.problem.get("capability")
        return str(value) if value is not None else None

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {super().__str__()}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return (
            f"{name}(status={self.status!r}, code={self.code!r}, detail={self.detail!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400 or 422: the request is malformed or does not validate; nothing changed."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid or expired (`Auth.on_unauthorized` was called)."""


class PermissionDeniedError(APIStatusError):
    """403: not allowed; `capability` names the missing capability, if that was why."""


class NotFoundError(APIStatusError):
    """404: no such vendor, session, participant or recording, or not yours to see."""


class ConflictError(APIStatusError):
    """409: the session moved first (answered elsewhere, ended, not pending any more)."""


class PreconditionFailedError(APIStatusError):
    """412: `if_match=` named a version the session is no longer at. `problem["session"]`
    is the current view, when the server sent it."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """500 or above: the server failed; quote `request_id` when reporting it."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    422: BadRequestError,
    429: RateLimitError,
}


def status_error(
    status: int, body: Any, *, reason: str = "", request_id: str | None = None
) -> APIStatusError:
    """The error for an answer with `status`; `body` is its decoded JSON, if any."""
    cls = _BY_STATUS.get(status, InternalServerError if status >= 500 else APIStatusError)
    if not isinstance(body, Mapping):
        return cls(reason or f"HTTP {status}", status=status, title=reason, request_id=request_id)
    return cls(
        str(body.get("detail") or body.get("title") or reason or f"HTTP {status}"),
        status=status,
        code=str(body.get("code") or "http_error"),
        title=str(body.get("title") or reason),
        problem=body,
        request_id=request_id or _text(body.get("request_id")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


class APIConnectionError(CallpadError):
    """The API could not be reached, or the connection broke before an answer."""

    code = "connection_error"


class APITimeoutError(APIConnectionError):
    """A request did not finish within its `timeout` (after its retries)."""

    code = "timeout"


class RealtimeConnectionError(APIConnectionError):
    """The realtime connection could not be made: `url` is where, `cause` why."""

    code = "realtime_error"

    def __init__(self, message: str, *, url: str, cause: str) -> None:
        super().__init__(message)
        self.url = url
        self.cause = cause


class InvalidRequestError(CallpadError, ValueError):
    """An argument is wrong (a target of the wrong shape, a recording that is not there);
    nothing was sent."""

    code = "invalid_request"


class MediaConnectionError(APIConnectionError):
    """The call started (or was answered) but its LiveKit room could not be joined:
    `answer` is the server's answer (session and grant), `url` and `cause` say what
    failed. Retry with `farvex.livekit.join_room(error.answer.join)`, or leave."""

    code = "media_error"

    def __init__(self, message: str, *, url: str, cause: str, answer: Any) -> None:
        super().__init__(message)
        self.url = url
        self.cause = cause
        self.answer = answer


class ConfigurationError(CallpadError):
    """The client's setup contradicts the server (it would connect and receive nothing)."""

    code = "configuration_error"


class ClientClosedError(CallpadError):
    """The client was disposed; create a new one."""

    code = "client_closed"

    def __init__(self, message: str = "The client was disposed; create a new one.") -> None:
        super().__init__(message)
