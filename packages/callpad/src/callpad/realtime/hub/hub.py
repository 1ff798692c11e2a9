"""The hub: streams, the registry of connections, the WebSocket endpoint, one ticker.

Ordering: a publication is appended to its stream and put on each subscriber's queue in
one synchronous step; a subscribe (or connect) reads history, registers the subscriber and
queues its reply with no `await` in between. So every client sees its subscribe reply, then
every later publication, with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from ...background import Deadline
from ..protocol import Disconnect, ErrorCode, dumps
from ..server import SET_MAX_MESSAGE_SIZE
from ..tokens import ConnectionClaims
from .commands import handle_command
from .config import HubConfig
from .connection import Connection
from .frames import BadFrame, commands
from .streams import DATA, OFFSET, Streams, Subscriber, pub_frame

__all__ = ["Authorizer", "Clock", "Hub", "StreamPosition"]

logger = logging.getLogger("callpad.realtime.hub")

# May `user` (the token's `sub`) read `channel`? Asked for client-side subscribes only:
# server-side subscriptions come from a token the server signed.
Authorizer = Callable[[str, str], Awaitable[bool]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class StreamPosition:
    epoch: str
    offset: int


class Hub:
    """The in-process Centrifugo-compatible hub. Publish with `publish()`; mount `serve()`;
    run `run()` for pings, expiry and history TTL."""

    def __init__(
        self,
        config: HubConfig,
        authorize: Authorizer | None = None,
        *,
        clock: Clock = time.monotonic,
        on_log_in: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._authorize = authorize
        self._on_log_in = on_log_in  # told of each connection's log-in (presence)
        self._clock = clock
        self.streams = Streams(config.history_size, config.history_ttl_s)
        self.streams.on_earliest_expiry = self._due_at
        self._connections: set[Connection] = set()
        self._by_user: dict[str, set[Connection]] = {}
        # (user, channel) -> the second it was revoked; oldest first.
        self._revoked: dict[tuple[str, str], int] = {}
        # While `corked()`: the frames published, per connection, to send as one message.
        self._corked: dict[Subscriber, list[str]] | None = None
        self.accepting = True
        # The ticker (`run`): when it next wakes, and the earliest its next pass may run.
        self._wake = Deadline(clock)
        self._next_pass_from = 0.0
        self._tick_s = max(0.01, min(1.0, config.ping_interval_s / 4, config.pong_timeout_s / 4))

    def now(self) -> float:
        """The hub's monotonic clock (injectable, for tests of expiry)."""
        return self._clock()

    # Publishing

    def publish(self, channel: str, data: Any, *, key: str | None = None) -> int:
        """Append to the channel's stream and deliver to its subscribers; returns the offset.

        `data` is a JSON-serialisable value, or a `str` holding JSON text. A `key` already
        in the stream's history (e.g. an outbox id published again after a failed mark)
        is not appended twice: its first offset is returned.
        """
        text = data if isinstance(data, str) else dumps(data)
        stream, publication = self.streams.publish(channel, text, key, self._clock())
        if publication is None:
            assert key is not None
            return stream.keys[key]
        if stream.subscribers:
            frame = f'{{"push":{{"channel":{stream.channel_json},"pub":{pub_frame(publication)}}}}}'
            corked = self._corked
            if corked is not None:
                for subscriber in stream.subscribers:
                    corked.setdefault(subscriber, []).append(frame)
                return publication[OFFSET]
            # A copy: a subscriber past its queue bound unsubscribes itself while closing.
            for subscriber in tuple(stream.subscribers):
                subscriber.send(frame)
        return publication[OFFSET]

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """Publish a batch (a transaction's events): each connection gets the frames meant
        for it as one message, in publication order (the protocol's newline-separated
        replies), when the block ends: one socket write instead of one per frame."""
        if self._corked is not None:
            yield  # already inside a batch: it sends
            return
        self._corked = {}
        try:
            yield
        finally:
            self._send_corked()
            self._corked = None

    def _send_corked(self) -> None:
        """Send what the batch holds so far (before a connection may be closed)."""
        corked = self._corked
        if not corked:
            return
        self._corked = {}
        for connection, frames in corked.items():
            connection.send(frames[0] if len(frames) == 1 else "\n".join(frames))

    def position(self, channel: str) -> StreamPosition:
        """The channel's epoch and offset (an empty epoch for a stream the hub does not hold)."""
        stream = self.streams.get(channel)
        return StreamPosition(stream.epoch, stream.offset) if stream else StreamPosition("", 0)

    def history(self, channel: str) -> list[tuple[int, Any]]:
        """(offset, data) of every publication still in the channel's history."""
        stream = self.streams.get(channel)
        if stream is None:
            return []
        stream.trim(self.streams.size, self.streams.ttl_s, self._clock())
        return [(p[OFFSET], json.loads(p[DATA])) for p in stream.history]

    # Who is connected

    def connected_users(self) -> frozenset[str]:
        return frozenset(self._by_user)

    def is_connected(self, user: str | int) -> bool:
        return str(user) in self._by_user

    def subscribers(self, channel: str) -> int:
        stream = self.streams.get(channel)
        return len(stream.subscribers) if stream else 0

    def disconnect(
        self, user: str | int, code: Disconnect | int = Disconnect.FORCE_RECONNECT
    ) -> int:
        """Close every connection of `user`; returns how many."""
        self._send_corked()  # what was published before the close is delivered
        connections = list(self._by_user.get(str(user), ()))
        for connection in connections:
            connection.close(code)
        return len(connections)

    def revoke(self, user: str, channels: Collection[str]) -> int:
        """`user` may no longer read `channels`: close their connections reading any of them
        with 3014 (the client drops its token and fetches a new grant), and answer 109 to a
        `connect` whose token grants one of them and was issued before now, for as long as
        such a token may live. Returns how many connections were closed."""
        self._send_corked()  # what was published before the revocation is delivered
        at = int(time.time())
        for channel in channels:
            self._revoked.pop((user, channel), None)
            self._revoked[(user, channel)] = at
        forget = self._next_forget(self._clock())
        if forget is not None:
            self._due_at(forget)
        reading = [
            c for c in self._by_user.get(user, ()) if any(ch in c.streams for ch in channels)
        ]
        for connection in reading:
            connection.close(Disconnect.STATE_INVALIDATED)
        return len(reading)

    def grants_revoked(self, claims: ConnectionClaims) -> bool:
        """The token was issued before one of its channels was revoked from its user."""
        if not self._revoked:
            return False
        for channel in claims.channels:
            revoked_at = self._revoked.get((claims.user, channel))
            if revoked_at is not None and (claims.issued_at or 0) <= revoked_at:
                return True  # the same second counts: the token may predate the change
        return False

    def _forget_revocations(self, wall: float) -> None:
        revoked = self._revoked
        while revoked:
            key, at = next(iter(revoked.items()))
            if wall - at <= self.config.token_ttl_s:
                return
            del revoked[key]

    def close_all(self, code: Disconnect = Disconnect.SHUTDOWN) -> None:
        self.accepting = False
        for connection in list(self._connections):
            connection.close(code)

    # The registry, as commands change it

    def log_in(self, connection: Connection, user: str) -> None:
        connection.user = user
        connection.connected = True
        self._by_user.setdefault(user, set()).add(connection)
        self.connection_due(connection)
        if self._on_log_in is not None:
            self._on_log_in()

    def attach(
        self, connection: Connection, channel: str, params: Mapping[str, Any]
    ) -> dict[str, Any] | ErrorCode:
        """Read history, register the subscriber, build the reply: one synchronous step."""
        stream = self.streams.open(channel, self._clock())
        result = stream.subscribe_result(params)
        if isinstance(result, ErrorCode):
            self.streams.release(stream)
            return result
        stream.subscribers.add(connection)
        connection.streams[channel] = stream
        return result

    def detach(self, connection: Connection, channel: str) -> None:
        stream = connection.streams.pop(channel, None)
        if stream is not None:
            stream.subscribers.discard(connection)
            self.streams.release(stream)

    async def may_read(self, user: str, channel: str) -> bool:
        if self._authorize is None:
            return False
        try:
            return await self._authorize(user, channel)
        except Exception:
            logger.exception("authorizing %s for %s failed", user, channel)
            return False

    def _forget(self, connection: Connection) -> None:
        for channel in list(connection.streams):
            self.detach(connection, channel)
        self._connections.discard(connection)
        users = self._by_user.get(connection.user)
        if users is not None:
            users.discard(connection)
            if not users:
                del self._by_user[connection.user]

    # Periodic work, run by the app's lifespan

    async def run(self) -> None:
        """Pings, pong and connect deadlines, token expiry, history TTL, revocations, each
        when due: the ticker sleeps until the earliest of them (at least `_tick_s` after
        its last pass, so many connections' pings go in one pass), and not at all while
        nothing is due. What becomes due sooner wakes it (`_due_at`)."""
        while True:
            now = self._clock()
            due = self.check_connections()
            self.streams.expire(now)
            self._forget_revocations(time.time())
            due = _earliest(due, self.streams.next_expiry(), self._next_forget(now))
            self._next_pass_from = now + self._tick_s
            self._wake.at = None if due is None else max(due, self._next_pass_from)
            await self._wake.sleep()

    def _due_at(self, at: float) -> None:
        """Something is due at `at` (monotonic): wake the ticker then, if it sleeps longer."""
        self._wake.sooner(max(at, self._next_pass_from))

    def _next_forget(self, now: float) -> float | None:
        if not self._revoked:
            return None
        oldest = next(iter(self._revoked.values()))
        return now + (oldest + self.config.token_ttl_s - time.time())

    def check_connections(self) -> float | None:
        """Pings, pong deadlines, token expiry, and sockets that never sent `connect`.
        Returns when the next of these is due (monotonic), None when nothing is."""
        now, wall = self._clock(), time.time()
        config = self.config
        due: float | None = None
        for connection in list(self._connections):
            if connection.closing is not None:
                continue
            if not connection.connected:
                deadline = connection.created_at + config.connect_timeout_s
                if now > deadline:
                    connection.close(Disconnect.STALE)
                else:
                    due = _earliest(due, deadline)
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
            due = _earliest(due, connection.next_ping_at, connection.pong_due_at)
            if expires_at is not None:
                due = _earliest(due, now + expires_at + config.expired_close_delay_s - wall)
        return due

    def connection_due(self, connection: Connection) -> None:
        """A connection's deadlines changed (`connect`, `refresh`): the ticker wakes in time."""
        if connection.connected:
            due = _earliest(connection.next_ping_at, connection.pong_due_at)
            if connection.expires_at is not None:
                wall_due = connection.expires_at + self.config.expired_close_delay_s
                due = _earliest(due, self._clock() + wall_due - time.time())
        else:
            due = connection.created_at + self.config.connect_timeout_s
        if due is not None:
            self._due_at(due)

    # The WebSocket endpoint

    async def serve(self, websocket: WebSocket) -> None:
        offered = [p for p in websocket.scope.get("subprotocols", []) if p]
        if offered or not self.accepting:
            # JSON clients offer no subprotocol (older ones an empty header); protobuf
            # is not served.
            await websocket.close(1008)
            return
        extensions = websocket.scope.get("extensions") or {}
        set_max_message_size = extensions.get(SET_MAX_MESSAGE_SIZE)
        if set_max_message_size is not None:
            set_max_message_size(self.config.connect_max_bytes)
        await websocket.accept()
        connection = Connection(
            websocket,
            queue_max_bytes=self.config.queue_max_bytes,
            on_close=self._forget,
            now=self._clock(),
        )
        self._connections.add(connection)
        self.connection_due(connection)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if connection.closing is not None:
                    continue
                was_connected = connection.connected
                await self._handle_message(connection, message)
                if connection.connected and not was_connected and set_max_message_size:
                    set_max_message_size(self.config.message_max_bytes)
                # An idle connection waits in receive() for hours: the last message (the
                # connect command, its token) would stay alive in this frame meanwhile.
                del message
        finally:
            await connection.finish()

    async def _handle_message(self, connection: Connection, message: Mapping[str, Any]) -> None:
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
        config = self.config
        if connection.connected:
            too_large = len(text) > config.message_max_bytes
        else:
            connection.received_bytes += len(text)
            too_large = connection.received_bytes > config.connect_max_bytes
        if too_large:  # the transport enforces this first when it can (HubWebSocketProtocol)
            connection.close(Disconnect.BAD_REQUEST)
            return
        try:
            first = True
            for command in commands(text, config.max_commands_per_message):
                if not first:
                    await asyncio.sleep(0)  # one message never holds the loop for long
                first = False
                if connection.closing is not None:
                    return
                await handle_command(self, connection, command)
        except BadFrame:
            connection.close(Disconnect.BAD_REQUEST)
        except Exception:
            logger.exception("the hub failed on a message from user %r", connection.user)
            connection.close(Disconnect.SERVER_ERROR)


def _earliest(*times: float | None) -> float | None:
    return min((t for t in times if t is not None), default=None)
