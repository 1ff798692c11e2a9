"""The embedded hub: the Centrifugo client protocol (JSON over WebSocket) inside this process.

    Hub                  channels (streams), connections, the who-is-connected registry
      _Stream            one channel: epoch, offset, bounded history, subscribers
      _Connection        one WebSocket: its user, subscriptions, one FIFO outbound queue
    Hub.serve()          the ASGI WebSocket endpoint: reads frames, answers commands
    Hub.run()            one ticker for every connection: pings, pong checks, expiry, stale

Ordering: a publication is appended to its stream and put on each subscriber's queue in
one synchronous step; a subscribe (or connect) reads history, registers the subscriber and
queues its reply with no `await` in between. So every client sees its subscribe reply, then
every later publication, with no gap and no duplicate. Each queue is written by one writer
task in order; a queue past its byte bound closes the connection with 3008 (slow).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from .protocol import Disconnect, ErrorCode, RawJson, dumps, error_reply, reply
from .server import SEND_TEXT_NOWAIT
from .tokens import TokenExpired, TokenInvalid, decode_connection_token

__all__ = ["Hub", "HubConfig", "StreamPosition"]

logger = logging.getLogger("callpad.realtime.hub")

# May `user` (the token's `sub`) read `channel`? Asked for client-side subscribes only:
# server-side subscriptions come from a token the server signed.
Authorizer = Callable[[str, str], Awaitable[bool]]

HUB_VERSION = "callpad-hub 1"
_FLAG_REJECT_UNRECOVERED = 2  # subscribe `flag` bit: answer 112 rather than recovered=false


@dataclass(frozen=True, slots=True)
class HubConfig:
    secret: str
    history_size: int = 1000
    history_ttl_s: float = 600.0
    ping_interval_s: float = 25.0
    pong_timeout_s: float = 8.0
    expired_close_delay_s: float = 25.0
    connect_timeout_s: float = 10.0
    queue_max_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StreamPosition:
    epoch: str
    offset: int


class _Publication:
    __slots__ = ("at", "data", "key", "offset")

    def __init__(self, offset: int, data: str, key: str | None, at: float) -> None:
        self.offset = offset
        self.data = data  # the publication's JSON text, embedded raw in frames
        self.key = key
        self.at = at

    def frame(self) -> str:
        return f'{{"data":{self.data},"offset":{self.offset}}}'


class _Stream:
    __slots__ = ("channel", "channel_json", "epoch", "history", "keys", "offset", "subscribers")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.channel_json = dumps(channel)
        self.epoch = secrets.token_hex(4)
        self.offset = 0
        self.history: deque[_Publication] = deque()
        self.keys: dict[str, int] = {}  # idempotency key -> offset, for what is in history
        self.subscribers: set[_Connection] = set()

    def trim(self, size: int, ttl_s: float, now: float) -> None:
        history = self.history
        while history and (len(history) > size or now - history[0].at > ttl_s):
            dropped = history.popleft()
            if dropped.key is not None:
                self.keys.pop(dropped.key, None)

    def since(self, offset: int) -> list[_Publication] | None:
        """Every publication after `offset`, or None when some of them left history."""
        if offset >= self.offset:
            return []
        if not self.history or self.history[0].offset > offset + 1:
            return None
        start = offset + 1 - self.history[0].offset
        return [self.history[i] for i in range(start, len(self.history))]


class _Connection:
    __slots__ = (
        "__weakref__",
        "client_id",
        "closing",
        "connected",
        "created_at",
        "expires_at",
        "hub",
        "next_ping_at",
        "pong_due_at",
        "queue",
        "queued_bytes",
        "send_nowait",
        "streams",
        "user",
        "websocket",
        "writer",
    )

    def __init__(self, hub: Hub, websocket: WebSocket) -> None:
        self.hub = hub
        self.websocket = websocket
        self.client_id = str(uuid.uuid4())
        self.user = ""
        self.connected = False
        self.closing: tuple[int, str] | None = None
        self.created_at = time.monotonic()
        self.expires_at: float | None = None  # wall clock, from the token's exp
        self.next_ping_at = 0.0
        self.pong_due_at: float | None = None
        self.streams: dict[str, _Stream] = {}
        self.queue: deque[str] = deque()
        self.queued_bytes = 0
        self.writer: asyncio.Task[None] | None = None
        extensions = websocket.scope.get("extensions") or {}
        self.send_nowait: Callable[[str], bool] | None = extensions.get(SEND_TEXT_NOWAIT)

    # Outbound: one FIFO queue, one writer task at a time, started when there is work.

    def send(self, frame: str) -> None:
        if self.closing is not None:
            return
        if self.writer is None and self.send_nowait is not None and self.send_nowait(frame):
            return  # written at once: nothing queued before it, the transport is writable
        self.queue.append(frame)
        self.queued_bytes += len(frame)
        if self.queued_bytes > self.hub.config.queue_max_bytes:
            self.close(Disconnect.SLOW)
            return
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        websocket = self.websocket
        try:
            while self.queue and self.closing is None:
                frames = list(self.queue)
                self.queue.clear()
                self.queued_bytes = 0
                await websocket.send_text("\n".join(frames))
            if self.closing is not None:
                code, reason = self.closing
                await websocket.close(code, reason)
        except (OSError, RuntimeError, WebSocketDisconnect):
            self.closing = self.closing or (Disconnect.WRITE_ERROR, Disconnect.WRITE_ERROR.reason)
            self.hub._unregister(self)
        finally:
            if self.writer is asyncio.current_task():
                self.writer = None

    def close(self, code: Disconnect | int, reason: str | None = None) -> None:
        """Stop delivering at once; the close frame follows what the writer is sending."""
        if self.closing is not None:
            return
        text = reason if reason is not None else Disconnect(code).reason
        self.closing = (int(code), text)
        self.queue.clear()
        self.queued_bytes = 0
        self.hub._unregister(self)
        if self.writer is not None:
            # Blocked on a peer that does not read: drop that write (nothing of it was
            # written yet: uvicorn waits for the transport to be writable first).
            self.writer.cancel()
            self.writer = None
        self.writer = asyncio.get_running_loop().create_task(self._write())

    async def finish(self) -> None:
        """The socket is gone: stop the writer and leave the registry."""
        if self.closing is None:
            self.closing = (Disconnect.CONNECTION_CLOSED, Disconnect.CONNECTION_CLOSED.reason)
        self.hub._unregister(self)
        writer = self.writer
        if writer is not None and not writer.done():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


class Hub:
    """The in-process Centrifugo-compatible hub. Publish with `publish()`; mount `serve()`."""

    def __init__(self, config: HubConfig, authorize: Authorizer | None = None) -> None:
        self.config = config
        self._authorize = authorize
        self._streams: dict[str, _Stream] = {}
        self._connections: set[_Connection] = set()
        self._by_user: dict[str, set[_Connection]] = {}
        self._by_vendor: dict[str, dict[str, int]] = {}  # vendor -> user -> subscriptions
        self.accepting = True

    # Publishing

    def publish(self, channel: str, data: Any, *, key: str | None = None) -> int:
        """Append to the channel's stream and deliver to its subscribers; returns the offset.

        `data` is a JSON-serialisable value, or a `str` holding JSON text. A `key` already
        in the stream's history (e.g. an outbox id published again after a failed mark)
        is not appended twice: its first offset is returned.
        """
        stream = self._stream(channel)
        if key is not None:
            known = stream.keys.get(key)
            if known is not None:
                return known
        text = data if isinstance(data, str) else dumps(data)
        now = time.monotonic()
        stream.offset += 1
        publication = _Publication(stream.offset, text, key, now)
        stream.history.append(publication)
        if key is not None:
            stream.keys[key] = stream.offset
        stream.trim(self.config.history_size, self.config.history_ttl_s, now)
        if stream.subscribers:
            frame = f'{{"push":{{"channel":{stream.channel_json},"pub":{publication.frame()}}}}}'
            # A copy: a subscriber past its queue bound unsubscribes itself while closing.
            for connection in tuple(stream.subscribers):
                connection.send(frame)
        return stream.offset

    def position(self, channel: str) -> StreamPosition:
        stream = self._stream(channel)
        return StreamPosition(stream.epoch, stream.offset)

    def history(self, channel: str) -> list[tuple[int, Any]]:
        """(offset, data) of every publication still in the channel's history."""
        stream = self._streams.get(channel)
        if stream is None:
            return []
        stream.trim(self.config.history_size, self.config.history_ttl_s, time.monotonic())
        return [(p.offset, json.loads(p.data)) for p in stream.history]

    # Who is connected

    def connected_users(self) -> frozenset[str]:
        return frozenset(self._by_user)

    def is_connected(self, user: str | int) -> bool:
        return str(user) in self._by_user

    def vendor_users(self, vendor: str) -> frozenset[str]:
        """Users connected with a subscription to the vendor's agent or feed channels."""
        return frozenset(self._by_vendor.get(vendor, {}))

    def subscribers(self, channel: str) -> int:
        stream = self._streams.get(channel)
        return len(stream.subscribers) if stream else 0

    def disconnect(
        self, user: str | int, code: Disconnect | int = Disconnect.FORCE_RECONNECT
    ) -> int:
        """Close every connection of `user`; returns how many."""
        connections = list(self._by_user.get(str(user), ()))
        for connection in connections:
            connection.close(code)
        return len(connections)

    def close_all(self, code: Disconnect = Disconnect.SHUTDOWN) -> None:
        self.accepting = False
        for connection in list(self._connections):
            connection.close(code)

    # Periodic work for every connection, run by the app's lifespan.

    async def run(self) -> None:
        tick = max(0.01, min(1.0, self.config.ping_interval_s / 4, self.config.pong_timeout_s / 4))
        while True:
            await asyncio.sleep(tick)
            self.check_connections()

    def check_connections(self) -> None:
        now, wall = time.monotonic(), time.time()
        config = self.config
        for connection in list(self._connections):
            if connection.closing is not None:
                continue
            if not connection.connected:
                if now - connection.created_at > config.connect_timeout_s:
                    connection.close(Disconnect.STALE)
                continue
            if connection.pong_due_at is not None and now > connection.pong_due_at:
                connection.close(Disconnect.NO_PONG)
                continue
            expires_at = connection.expires_at
            if expires_at is not None and wall > expires_at + config.expired_close_delay_s:
                connection.close(Disconnect.EXPIRED)
                continue
            if now >= connection.next_ping_at:
                connection.send("{}")
                if connection.pong_due_at is None:
                    connection.pong_due_at = now + config.pong_timeout_s
                connection.next_ping_at = now + config.ping_interval_s

    # The WebSocket endpoint

    async def serve(self, websocket: WebSocket) -> None:
        offered = [p for p in websocket.scope.get("subprotocols", []) if p]
        if offered or not self.accepting:
            # JSON clients offer no subprotocol (older ones an empty header); protobuf
            # is not served.
            await websocket.close(1008)
            return
        await websocket.accept()
        connection = _Connection(self, websocket)
        self._connections.add(connection)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if connection.closing is not None:
                    continue
                text = message.get("text")
                if text is None:
                    raw = message.get("bytes") or b""
                    text = raw.decode("utf-8", errors="replace")
                await self._handle_frame(connection, text)
        finally:
            await connection.finish()

    async def _handle_frame(self, connection: _Connection, text: str) -> None:
        for line in text.split("\n"):
            if not line.strip():
                continue
            if connection.closing is not None:
                return
            try:
                command = json.loads(line)
            except ValueError:
                connection.close(Disconnect.BAD_REQUEST)
                return
            if not isinstance(command, dict):
                connection.close(Disconnect.BAD_REQUEST)
                return
            await self._handle_command(connection, command)

    async def _handle_command(self, connection: _Connection, command: dict[str, Any]) -> None:
        command_id = command.get("id", 0)
        if not command_id:
            # `{}` is the pong; nothing else may come without an id.
            if any(k for k in command if k not in ("id",)):
                connection.close(Disconnect.BAD_REQUEST)
            else:
                connection.pong_due_at = None
            return
        if not isinstance(command_id, int) or command_id < 0:
            connection.close(Disconnect.BAD_REQUEST)
            return
        method = next((k for k in _METHODS if k in command), None)
        if method is None:
            connection.send(error_reply(command_id, ErrorCode.METHOD_NOT_FOUND))
            return
        params = command.get(method) or {}
        if not isinstance(params, dict):
            connection.close(Disconnect.BAD_REQUEST)
            return
        if method == "connect":
            if connection.connected:
                connection.close(Disconnect.BAD_REQUEST)
            else:
                self._connect(connection, command_id, params)
            return
        if not connection.connected:
            connection.close(Disconnect.BAD_REQUEST)
            return
        if method == "subscribe":
            await self._subscribe(connection, command_id, params)
        elif method == "unsubscribe":
            self._unsubscribe(connection, command_id, params)
        elif method == "history":
            self._history(connection, command_id, params)
        elif method in ("presence", "presence_stats"):
            self._presence(connection, command_id, method, params)
        elif method == "refresh":
            self._refresh(connection, command_id, params)
        elif method == "sub_refresh":
            self._sub_refresh(connection, command_id, params)
        else:  # publish, rpc, send: no feature needs them from clients
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))

    def _connect(self, connection: _Connection, command_id: int, params: dict[str, Any]) -> None:
        try:
            claims = decode_connection_token(self.config.secret, str(params.get("token", "")))
        except TokenExpired:
            connection.send(error_reply(command_id, ErrorCode.TOKEN_EXPIRED))
            return
        except TokenInvalid:
            connection.close(Disconnect.INVALID_TOKEN)
            return
        recover = params.get("subs") or {}
        if not isinstance(recover, dict):
            connection.close(Disconnect.BAD_REQUEST)
            return
        connection.user = claims.user
        connection.connected = True
        connection.expires_at = claims.expires_at
        interval = self.config.ping_interval_s
        connection.next_ping_at = time.monotonic() + random.uniform(interval / 2, interval)
        self._by_user.setdefault(claims.user, set()).add(connection)
        # No await from here to the reply being queued: see the module docstring.
        subs: dict[str, Any] = {}
        for channel in claims.channels:
            request = recover.get(channel)
            attached = self._attach(
                connection, channel, request if isinstance(request, dict) else {}
            )
            if not isinstance(attached, ErrorCode):  # 112 only comes with the subscribe flag
                subs[channel] = attached
        result: dict[str, Any] = {
            "client": connection.client_id,
            "version": HUB_VERSION,
            "ping": _seconds(self.config.ping_interval_s),
            "pong": True,
        }
        if subs:
            result["subs"] = subs
        if claims.expires_at is not None:
            result["expires"] = True
            result["ttl"] = max(1, claims.expires_at - int(time.time()))
        connection.send(reply(command_id, "connect", result))

    async def _subscribe(
        self, connection: _Connection, command_id: int, params: dict[str, Any]
    ) -> None:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            connection.send(error_reply(command_id, ErrorCode.BAD_REQUEST))
            return
        if channel in connection.streams:
            connection.send(error_reply(command_id, ErrorCode.ALREADY_SUBSCRIBED))
            return
        if not await self._may_read(connection.user, channel):
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))
            return
        if connection.closing is not None or channel in connection.streams:
            return  # closed, or the same channel subscribed meanwhile
        result = self._attach(connection, channel, params)
        if isinstance(result, ErrorCode):
            connection.send(error_reply(command_id, result))
        else:
            connection.send(reply(command_id, "subscribe", result))

    async def _may_read(self, user: str, channel: str) -> bool:
        if self._authorize is None:
            return False
        try:
            return await self._authorize(user, channel)
        except Exception:
            logger.exception("authorizing %s for %s failed", user, channel)
            return False

    def _attach(
        self, connection: _Connection, channel: str, params: Mapping[str, Any]
    ) -> dict[str, Any] | ErrorCode:
        """Read history, register the subscriber, build the reply: one synchronous step."""
        stream = self._stream(channel)
        stream.trim(self.config.history_size, self.config.history_ttl_s, time.monotonic())
        recovering = bool(params.get("recover"))
        result: dict[str, Any] = {"recoverable": True, "positioned": True, "epoch": stream.epoch}
        if recovering:
            offset = _int(params.get("offset"))
            recovered = params.get("epoch") == stream.epoch and offset is not None
            missed = stream.since(offset) if recovered and offset is not None else None
            result["was_recovering"] = True
            if missed is not None and offset is not None:
                result["recovered"] = True
                result["offset"] = offset
                if missed:
                    result["publications"] = [RawJson(p.frame()) for p in missed]
            else:
                if (_int(params.get("flag")) or 0) & _FLAG_REJECT_UNRECOVERED:
                    return ErrorCode.UNRECOVERABLE_POSITION
                result["offset"] = stream.offset
        else:
            result["offset"] = stream.offset
        if not result["offset"]:
            del result["offset"]
        stream.subscribers.add(connection)
        connection.streams[channel] = stream
        vendor = _vendor_of(channel)
        if vendor is not None:
            users = self._by_vendor.setdefault(vendor, {})
            users[connection.user] = users.get(connection.user, 0) + 1
        return result

    def _detach(self, connection: _Connection, channel: str) -> None:
        stream = connection.streams.pop(channel, None)
        if stream is None:
            return
        stream.subscribers.discard(connection)
        vendor = _vendor_of(channel)
        if vendor is not None:
            users = self._by_vendor.get(vendor, {})
            left = users.get(connection.user, 0) - 1
            if left > 0:
                users[connection.user] = left
            else:
                users.pop(connection.user, None)
                if not users:
                    self._by_vendor.pop(vendor, None)

    def _unsubscribe(
        self, connection: _Connection, command_id: int, params: dict[str, Any]
    ) -> None:
        channel = params.get("channel")
        if isinstance(channel, str):
            self._detach(connection, channel)
        connection.send(reply(command_id, "unsubscribe", {}))

    def _history(self, connection: _Connection, command_id: int, params: dict[str, Any]) -> None:
        channel = params.get("channel")
        if not isinstance(channel, str) or channel not in connection.streams:
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))
            return
        stream = connection.streams[channel]
        stream.trim(self.config.history_size, self.config.history_ttl_s, time.monotonic())
        limit = _int(params.get("limit")) or 0
        reverse = bool(params.get("reverse"))
        since = params.get("since")
        publications: list[_Publication]
        if isinstance(since, dict):
            if since.get("epoch") != stream.epoch:
                connection.send(error_reply(command_id, ErrorCode.UNRECOVERABLE_POSITION))
                return
            missed = stream.since(_int(since.get("offset")) or 0)
            if missed is None:
                connection.send(error_reply(command_id, ErrorCode.UNRECOVERABLE_POSITION))
                return
            publications = missed
        else:
            publications = list(stream.history)
        if reverse:
            publications = publications[::-1]
        if limit == 0:
            publications = []
        elif limit > 0:
            publications = publications[:limit]
        result: dict[str, Any] = {"epoch": stream.epoch}
        if stream.offset:
            result["offset"] = stream.offset
        if publications:
            result["publications"] = [RawJson(p.frame()) for p in publications]
        connection.send(reply(command_id, "history", result))

    def _presence(
        self, connection: _Connection, command_id: int, method: str, params: dict[str, Any]
    ) -> None:
        channel = params.get("channel")
        if not isinstance(channel, str) or channel not in connection.streams:
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))
            return
        members = connection.streams[channel].subscribers
        if method == "presence":
            clients = {c.client_id: {"client": c.client_id, "user": c.user} for c in members}
            result: dict[str, Any] = {"presence": clients} if clients else {}
        else:
            result = {}
            if members:
                result["num_clients"] = len(members)
                result["num_users"] = len({c.user for c in members})
        connection.send(reply(command_id, method, result))

    def _refresh(self, connection: _Connection, command_id: int, params: dict[str, Any]) -> None:
        try:
            claims = decode_connection_token(self.config.secret, str(params.get("token", "")))
        except TokenExpired:
            connection.send(error_reply(command_id, ErrorCode.TOKEN_EXPIRED))
            return
        except TokenInvalid:
            connection.close(Disconnect.INVALID_TOKEN)
            return
        if claims.user != connection.user:
            connection.close(Disconnect.INVALID_TOKEN)
            return
        connection.expires_at = claims.expires_at
        result: dict[str, Any] = {"client": connection.client_id, "version": HUB_VERSION}
        if claims.expires_at is not None:
            result["expires"] = True
            result["ttl"] = max(1, claims.expires_at - int(time.time()))
        connection.send(reply(command_id, "refresh", result))

    def _sub_refresh(
        self, connection: _Connection, command_id: int, params: dict[str, Any]
    ) -> None:
        # Subscriptions here need no token of their own, so they never expire.
        channel = params.get("channel")
        if not isinstance(channel, str) or channel not in connection.streams:
            connection.send(error_reply(command_id, ErrorCode.PERMISSION_DENIED))
            return
        connection.send(reply(command_id, "sub_refresh", {}))

    # Registry upkeep

    def _stream(self, channel: str) -> _Stream:
        stream = self._streams.get(channel)
        if stream is None:
            stream = self._streams[channel] = _Stream(channel)
        return stream

    def _unregister(self, connection: _Connection) -> None:
        for channel in list(connection.streams):
            self._detach(connection, channel)
        self._connections.discard(connection)
        users = self._by_user.get(connection.user)
        if users is not None:
            users.discard(connection)
            if not users:
                del self._by_user[connection.user]


_METHODS = (
    "connect",
    "subscribe",
    "unsubscribe",
    "publish",
    "presence",
    "presence_stats",
    "history",
    "send",
    "rpc",
    "refresh",
    "sub_refresh",
)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)  # protobuf-JSON encodes 64-bit integers as strings
    return None


def _seconds(value: float) -> int:
    return max(1, round(value))


def _vendor_of(channel: str) -> str | None:
    namespace, _, rest = channel.partition(":")
    if namespace == "vendor" and rest:
        return rest
    if namespace == "agent" and "#" in rest:
        return rest.partition("#")[0]
    return None
