"""Every error the SDK raises. Methods raise these; they never return error wrappers.

    CallpadError                      an API problem (RFC 9457 problem+json): status, code,
    │                                 title, detail, and the raw `problem` document
    ├── CallpadConnectionError        the API could not be reached (DNS, refused, reset)
    │   └── CallpadTimeoutError       a request, connect or wait did not finish in time
    └── CallpadClientClosedError      the client was disposed and cannot be used again

`code` is the server's stable machine-readable code (`session_ended`,
`capability_missing`, `invite_not_pending`, ...; see docs/api.md). Errors raised by the
SDK itself, with no response behind them, have `status` None and a code of their own
(`connection_error`, `timeout`, `client_closed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CallpadClientClosedError",
    "CallpadConnectionError",
    "CallpadError",
    "CallpadTimeoutError",
]


class CallpadError(Exception):
    """An API problem response, or an error of the SDK (see the module docstring)."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str = "error",
        title: str = "",
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.problem: Mapping[str, Any] = dict(problem or {})

    @classmethod
    def from_problem(cls, status: int, body: Any, reason: str = "") -> CallpadError:
        """The error for a response with `status`; `body` is its decoded JSON, if any."""
        if isinstance(body, Mapping):
            return cls(
                str(body.get("detail") or body.get("title") or reason or f"HTTP {status}"),
                status=int(body.get("status") or status),
                code=str(body.get("code") or "http_error"),
                title=str(body.get("title") or reason),
                problem=body,
            )
        return cls(reason or f"HTTP {status}", status=status, code="http_error", title=reason)

    @property
    def capability(self) -> str | None:
        """The missing capability of a `capability_missing` problem."""
        value = self.problem.get("capability")
        return str(value) if value is not None else None

    def __str__(self) -> str:
        prefix = f"{self.status} {self.code}" if self.status is not None else self.code
        return f"{prefix}: {self.detail}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, code={self.code!r}, detail={self.detail!r})"


class CallpadConnectionError(CallpadError):
    """The API could not be reached, or the connection broke before an answer."""

    def __init__(self, detail: str, *, code: str = "connection_error") -> None:
        super().__init__(detail, code=code, title="Connection error")


class CallpadTimeoutError(CallpadConnectionError):
    """A request, a realtime connect, or a wait with a timeout did not finish in time."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="timeout")
        self.title = "Timeout"


class CallpadClientClosedError(CallpadError):
    """The client was disposed; create a new one."""

    def __init__(self, detail: str = "The client was disposed.") -> None:
        super().__init__(detail, code="client_closed", title="Client closed")
