"""The Centrifugo client protocol's numbers and frames, as the hub speaks them (JSON mode).

Error codes travel in replies (`{"id": N, "error": {...}}`); disconnect codes close the
WebSocket. Codes 3000-3499 and 4000-4499 tell the client to reconnect; 3500-3999 and
4500-4999 are terminal.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import orjson

__all__ = ["Disconnect", "ErrorCode", "RawJson", "dumps", "encode", "error_reply", "reply"]


class ErrorCode(IntEnum):
    INTERNAL = 100
    UNAUTHORIZED = 101
    UNKNOWN_CHANNEL = 102
    PERMISSION_DENIED = 103
    METHOD_NOT_FOUND = 104
    ALREADY_SUBSCRIBED = 105
    LIMIT_EXCEEDED = 106
    BAD_REQUEST = 107
    NOT_AVAILABLE = 108
    TOKEN_EXPIRED = 109
    EXPIRED = 110
    TOO_MANY_REQUESTS = 111
    UNRECOVERABLE_POSITION = 112

    @property
    def message(self) -> str:
        return _ERROR_MESSAGES[self]

    @property
    def temporary(self) -> bool:
        return self in (ErrorCode.INTERNAL, ErrorCode.TOO_MANY_REQUESTS)


_ERROR_MESSAGES = {
    ErrorCode.INTERNAL: "internal server error",
    ErrorCode.UNAUTHORIZED: "unauthorized",
    ErrorCode.UNKNOWN_CHANNEL: "unknown channel",
    ErrorCode.PERMISSION_DENIED: "permission denied",
    ErrorCode.METHOD_NOT_FOUND: "method not found",
    ErrorCode.ALREADY_SUBSCRIBED: "already subscribed",
    ErrorCode.LIMIT_EXCEEDED: "limit exceeded",
    ErrorCode.BAD_REQUEST: "bad request",
    ErrorCode.NOT_AVAILABLE: "not available",
    ErrorCode.TOKEN_EXPIRED: "token expired",
    ErrorCode.EXPIRED: "expired",
    ErrorCode.TOO_MANY_REQUESTS: "too many requests",
    ErrorCode.UNRECOVERABLE_POSITION: "unrecoverable position",
}


class Disconnect(IntEnum):
    """WebSocket close codes; `reason` is the close frame's text."""

    CONNECTION_CLOSED = 3000
    SHUTDOWN = 3001
    SERVER_ERROR = 3004
    EXPIRED = 3005
    SLOW = 3008
    WRITE_ERROR = 3009
    FORCE_RECONNECT = 3011
    NO_PONG = 3012
    STATE_INVALIDATED = 3014  # reconnect with a new token: clients drop theirs (get_token)
    INVALID_TOKEN = 3500
    BAD_REQUEST = 3501
    STALE = 3502
    FORCE_NO_RECONNECT = 3503

    @property
    def reason(self) -> str:
        return _DISCONNECT_REASONS[self]


_DISCONNECT_REASONS = {
    Disconnect.CONNECTION_CLOSED: "connection closed",
    Disconnect.SHUTDOWN: "shutdown",
    Disconnect.SERVER_ERROR: "internal server error",
    Disconnect.EXPIRED: "connection expired",
    Disconnect.SLOW: "slow",
    Disconnect.WRITE_ERROR: "write error",
    Disconnect.FORCE_RECONNECT: "force reconnect",
    Disconnect.NO_PONG: "no pong",
    Disconnect.STATE_INVALIDATED: "state invalidated",
    Disconnect.INVALID_TOKEN: "invalid token",
    Disconnect.BAD_REQUEST: "bad request",
    Disconnect.STALE: "stale",
    Disconnect.FORCE_NO_RECONNECT: "force disconnect",
}


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class RawJson(str):
    """JSON text embedded as is: a publication's frame is built once, sent to many."""

    __slots__ = ()


def encode(value: Any) -> str:
    """JSON with `RawJson` parts embedded verbatim."""
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return dumps(value)


def reply(command_id: int, method: str, result: dict[str, Any]) -> str:
    return encode({"id": command_id, method: result})


def error_reply(command_id: int, code: ErrorCode) -> str:
    error: dict[str, Any] = {"code": int(code), "message": code.message}
    if code.temporary:
        error["temporary"] = True
    return dumps({"id": command_id, "error": error})
