"""The client's commands: one handler per method, and the guards every command passes once.

`handle_command` checks the id, finds the method, checks that the connection is connected
(or, for `connect`, that it is not yet) and, for the methods that act on a subscription,
that the connection reads the channel; only then does the handler run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol import Disconnect, ErrorCode, error_reply, reply
from ..tokens import ConnectionClaims, TokenExpired, TokenInvalid, decode_connection_token
from .connection import Connection
from .streams import Stream

if TYPE_CHECKING:
    from .hub import Hub

__all__ = ["COMMANDS", "HUB_VERSION", "Request", "handle_command"]

HUB_VERSION = "callpad-hub 1"


@dataclass(frozen=True, slots=True)
class Request:
    hub: Hub
    connection: Connection
    id: int
    method: str
    params: dict[str, Any]
    stream: Stream | None  # the subscription named by `channel`, for `on_subscription` methods

    def answer(self, result: dict[str, Any]) -> None:
        self.connection.send(reply(self.id, self.method, result))

    def fail(self, code: ErrorCode) -> None:
        self.connection.send(error_reply(self.id, code))


Handler = Callable[[Request], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Command:
    handle: Handler
    before_connect: bool = False  # `connect` only: every other command needs a connection
    on_subscription: bool = False  # `channel` must be one the connection reads, else 103


def _token_claims(request: Request) -> ConnectionClaims | None:
    """The token's claims; None when the command was answered (109) or the connection
    closed (3500)."""
    token = request.params.get("token", "")
    if not isinstance(token, str):
        request.connection.close(Disconnect.BAD_REQUEST)
        return None
    try:
        return decode_connection_token(request.hub.config.secret, token)
    except TokenExpired:
        request.fail(ErrorCode.TOKEN_EXPIRED)
    except TokenInvalid:
        request.connection.close(Disconnect.INVALID_TOKEN)
    return None


def _expiry(result: dict[str, Any], claims: ConnectionClaims) -> dict[str, Any]:
    if claims.expires_at is not None:
        result["expires"] = True
        result["ttl"] = max(1, claims.expires_at - int(time.time()))
    return result


def connect(request: Request) -> None:
    claims = _token_claims(request)
    if claims is None:
        return
    if request.hub.grants_revoked(claims):
        request.fail(ErrorCode.TOKEN_EXPIRED)  # the client fetches a new grant
        return
    recover = request.params.get("subs") or {}
    if not isinstance(recover, dict):
        request.connection.close(Disconnect.BAD_REQUEST)
        return
    hub, connection = request.hub, request.connection
    config = hub.config
    connection.expires_at = claims.expires_at
    interval = config.ping_interval_s
    connection.next_ping_at = hub.now() + random.uniform(interval / 2, interval)
    hub.log_in(connection, claims.user)
    # No await from here to the reply being queued: see the hub's module docstring.
    subs: dict[str, Any] = {}
    for channel in claims.channels:
        params = recover.get(channel)
        attached = hub.attach(connection, channel, params if isinstance(params, dict) else {})
        if not isinstance(attached, ErrorCode):  # 112 only comes with the subscribe flag
            subs[channel] = attached
    result: dict[str, Any] = {
        "client": connection.client_id,
        "version": HUB_VERSION,
        "ping": max(1, round(interval)),
        "pong": True,
    }
    if subs:
        result["subs"] = subs
    request.answer(_expiry(result, claims))


async def subscribe(request: Request) -> None:
    channel = request.params.get("channel")
    connection = request.connection
    if not isinstance(channel, str) or not channel:
        request.fail(ErrorCode.BAD_REQUEST)
        return
    if channel in connection.streams:
        request.fail(ErrorCode.ALREADY_SUBSCRIBED)
        return
    if not await request.hub.may_read(connection.user, channel):
        request.fail(ErrorCode.PERMISSION_DENIED)
        return
    if connection.closing is not None or channel in connection.streams:
        return  # closed, or the same channel subscribed meanwhile
    result = request.hub.attach(connection, channel, request.params)
    if isinstance(result, ErrorCode):
        request.fail(result)
    else:
        request.answer(result)


def unsubscribe(request: Request) -> None:
    channel = request.params.get("channel")
    if isinstance(channel, str):
        request.hub.detach(request.connection, channel)
    request.answer({})


def history(request: Request) -> None:
    assert request.stream is not None
    result = request.stream.history_result(request.params)
    if isinstance(result, ErrorCode):
        request.fail(result)
    else:
        request.answer(result)


def presence(request: Request) -> None:
    assert request.stream is not None
    members = request.stream.subscribers
    clients = {
        c.client_id: {"client": c.client_id, "user": c.user}
        for c in members
        if isinstance(c, Connection)
    }
    request.answer({"presence": clients} if clients else {})


def presence_stats(request: Request) -> None:
    assert request.stream is not None
    members = [c for c in request.stream.subscribers if isinstance(c, Connection)]
    result: dict[str, Any] = {}
    if members:
        result["num_clients"] = len(members)
        result["num_users"] = len({c.user for c in members})
    request.answer(result)


def refresh(request: Request) -> None:
    claims = _token_claims(request)
    if claims is None:
        return
    connection = request.connection
    if claims.user != connection.user:
        connection.close(Disconnect.INVALID_TOKEN)
        return
    connection.expires_at = claims.expires_at
    request.hub.connection_due(connection)
    request.answer(_expiry({"client": connection.client_id, "version": HUB_VERSION}, claims))


def sub_refresh(request: Request) -> None:
    # Subscriptions here need no token of their own, so they never expire.
    request.answer({})


def denied(request: Request) -> None:
    # publish, rpc, send: no feature needs them from clients
    request.fail(ErrorCode.PERMISSION_DENIED)


# In the order a command's method is looked for.
COMMANDS: dict[str, Command] = {
    "connect": Command(connect, before_connect=True),
    "subscribe": Command(subscribe),
    "unsubscribe": Command(unsubscribe),
    "publish": Command(denied),
    "presence": Command(presence, on_subscription=True),
    "presence_stats": Command(presence_stats, on_subscription=True),
    "history": Command(history, on_subscription=True),
    "send": Command(denied),
    "rpc": Command(denied),
    "refresh": Command(refresh),
    "sub_refresh": Command(sub_refresh, on_subscription=True),
}


MAX_ID = 2**32 - 1  # ids are uint32 in the protocol


def _command_id(connection: Connection, command: dict[str, Any]) -> int | None:
    """The command's id; None when the command was the pong, or closed the connection."""
    command_id = command.get("id", 0)
    if command_id == 0 and connection.connected and all(k == "id" for k in command):
        connection.pong_due_at = None  # `{}` is the pong
        return None
    if isinstance(command_id, bool) or not isinstance(command_id, int):
        command_id = 0
    if not 0 < command_id <= MAX_ID:
        connection.close(Disconnect.BAD_REQUEST)
        return None
    return command_id


async def handle_command(hub: Hub, connection: Connection, command: dict[str, Any]) -> None:
    command_id = _command_id(connection, command)
    if command_id is None:
        return
    method = next((m for m in COMMANDS if m in command), "")
    spec = COMMANDS.get(method)
    if spec is None and connection.connected:
        connection.send(error_reply(command_id, ErrorCode.METHOD_NOT_FOUND))
        return
    params = command.get(method) or {}
    # Before `connect` nothing else is accepted; after it, `connect` never again.
    if spec is None or spec.before_connect == connection.connected or not isinstance(params, dict):
        connection.close(Disconnect.BAD_REQUEST)
        return
    stream = None
    if spec.on_subscription:
        channel = params.get("channel")
        stream = connection.streams.get(channel) if isinstance(channel, str) else None
        if stream is None:
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))
            return
    outcome = spec.handle(Request(hub, connection, command_id, method, params, stream))
    if outcome is not None:
        await outcome
