"""uvicorn's WebSocket protocol, adjusted for the hub. Run uvicorn with
`ws=HubWebSocketProtocol`.

- Older centrifuge-python versions send an empty `Sec-WebSocket-Protocol` header in JSON
  mode. RFC 6455 does not allow an empty list, and the websockets handshake answers 400
  to it before the app runs, while Centrifugo accepts it: such a header counts as absent.
- The ASGI scope gains the extension `callpad.send_text_nowait`: a synchronous write of
  one text frame, for fan-out without a task and an ASGI round trip per delivery. It
  refuses (returns False) whenever the asynchronous path must be used instead: before
  the handshake, after a close, or while the transport's buffer is over its high-water
  mark (the peer is not reading; the hub's bounded queue takes over from there).
- The scope also gains `callpad.set_max_message_size`: the largest message the peer may
  send from now on (a larger one closes the connection with 1009 before it is read into
  memory). Until the app sets it, `INITIAL_MAX_MESSAGE_BYTES` applies (or uvicorn's
  `ws_max_size`, if smaller): a socket that has not authenticated gets little.
- A peer whose message breaks that limit gets its close frame (1009) at once, but its
  socket is then neither read nor closed for `REFUSED_HOLD_S` (jittered by half either
  way): closing at once would let a client that waits for the close (as one blocked
  sending 16 MiB does) retry at once, and each retry costs a handshake. Attackers that
  start together would otherwise all come back in the same instant, their handshakes
  queued in front of every request; the jitter spreads them. Nothing of it is read
  meanwhile; shutdown closes it.
- Memory: an idle realtime connection may live for hours, and thousands of them are
  normal, so each holds as little as it can. The receive queue and the "writable" flag
  are single-purpose versions of `asyncio.Queue` and `asyncio.Event` (each of those
  allocates deques of 64 slots, ~2.3 KB and ~0.8 KB per socket, for a queue that is
  nearly always empty and a flag that is nearly always set), and the handshake's request
  and response and the scope's copy of the headers (~5 KB) are dropped once the
  handshake is sent. The protocol's ~40 attributes live in slots, not a dict (~1.3 KB).
  The websockets parser ends the generator that parsed the handshake before it reads
  frames: websockets' own parser reads frames inside it, keeping the request and its
  headers alive in its frame for the life of the socket (~2.3 KB).
- `HubWebSocketProtocol.with_endpoint(path, endpoint)` serves a WebSocket for `path`
  with `endpoint` directly instead of the app: an idle connection lives for hours inside
  the coroutines of whatever it passed through (uvicorn's proxy-headers middleware, the
  application, its error middleware: ~1.4 KB), and the endpoint's scope keeps only its
  type and extensions once the handshake is sent. Such a socket gets no WebSocket pings
  from uvicorn: the endpoint pings at its own protocol's level.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Generator
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import unquote

from starlette.types import ASGIApp
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

__all__ = [
    "INITIAL_MAX_MESSAGE_BYTES",
    "REFUSED_HOLD_S",
    "SEND_TEXT_NOWAIT",
    "SET_MAX_MESSAGE_SIZE",
    "HubWebSocketProtocol",
    "LeanServerProtocol",
]

SEND_TEXT_NOWAIT = "callpad.send_text_nowait"
SET_MAX_MESSAGE_SIZE = "callpad.set_max_message_size"
INITIAL_MAX_MESSAGE_BYTES = 16 * 1024
REFUSED_HOLD_S = 10.0


T = TypeVar("T")


class Inbox(Generic[T]):
    """What uvicorn's protocol uses of `asyncio.Queue`, for its one reader (the app's
    `receive()`, never awaited twice at once): unbounded, FIFO, at most one waiter."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        # A list: an empty deque costs ~700 bytes, and this one rarely holds two items.
        self._items: list[T] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> T:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Flag:
    """What uvicorn's protocol uses of `asyncio.Event` (set, clear, wait), its waiters
    made only while it is cleared (the peer is not reading)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


class _HandshakeOnly(Protocol):
    """Ends `ServerProtocol.parse` once it has queued the handshake request (see below)."""

    def parse(self) -> Generator[None]:
        return
        yield  # a generator that stops at once


class LeanServerProtocol(ServerProtocol, _HandshakeOnly):
    """websockets' server protocol, its frames parsed in a generator that never held the
    handshake request. `ServerProtocol.parse` reads the request, queues it, then reads
    frames in the same generator, whose frame keeps the request (and its headers) alive
    as long as the socket. Here its call to the next parser in line (`super().parse()`)
    reaches `_HandshakeOnly.parse` and returns, so that generator ends after the
    handshake; frames are then read by `Protocol.parse` in a generator of their own. No
    byte is read in between: the same reader continues."""

    def parse(self) -> Generator[None]:
        yield from ServerProtocol.parse(self)
        yield from Protocol.parse(self)


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    # Every attribute uvicorn's protocol sets, and ours: slots instead of a dict per socket.
    __slots__ = (
        "app",
        "app_state",
        "asgi_version",
        "client",
        "close_sent",
        "close_timeout",
        "close_timer",
        "config",
        "conn",
        "connections",
        "curr_msg_data_type",
        "default_headers",
        "disconnected",
        "frames",
        "handshake_complete",
        "handshake_initiated",
        "initial_response",
        "last_ping_rtt",
        "logger",
        "loop",
        "pending_ping_payload",
        "ping_interval",
        "ping_sent_at",
        "ping_timeout",
        "ping_timer",
        "pong_timer",
        "queue",
        "read_paused",
        "request",
        "response",
        "root_path",
        "scheme",
        "scope",
        "server",
        "tasks",
        "transport",
        "writable",
    )

    # Set by `with_endpoint`: the path served without the app, and what serves it.
    endpoint: ClassVar[tuple[str, ASGIApp] | None] = None

    @classmethod
    def with_endpoint(cls, path: str, endpoint: ASGIApp) -> type[HubWebSocketProtocol]:
        """This protocol, serving a WebSocket for `path` with `endpoint` (not the app)."""
        return type(cls.__name__, (cls,), {"__slots__": (), "endpoint": (path, endpoint)})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = self.conn
        self.conn = LeanServerProtocol(
            extensions=default.available_extensions,
            max_size=(default.max_message_size, default.max_fragment_size),
            logger=default.logger,
        )
        self.queue = Inbox()  # type: ignore[assignment]
        writable = Flag()
        writable.set()
        self.writable = writable  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and self.response is not None:
            # Sent: nothing reads the handshake's request or response again, and the
            # app has read the headers it needs (none, for the hub) before accepting.
            self.request = self.response = None  # type: ignore[assignment]
            scope: dict[str, Any] = self.scope  # type: ignore[assignment]
            if self.endpoint is not None and self.app is self.endpoint[1]:
                extensions = scope["extensions"]
                scope.clear()
                scope.update(type="websocket", extensions=extensions)
            else:
                scope["headers"] = []

    def handle_connect(self, event: Request) -> None:
        offered = event.headers.get_all("Sec-WebSocket-Protocol")
        if offered and not any(value.strip(" ,") for value in offered):
            del event.headers["Sec-WebSocket-Protocol"]
        if self.endpoint is not None:
            path, endpoint = self.endpoint
            if unquote(event.path.partition("?")[0]) == path:
                self.app = endpoint
                # The hub pings its clients itself (Centrifugo's `{}`, answered by the
                # client) and closes a silent one: uvicorn's WebSocket pings on top would
                # cost a timer per socket and a ping and a pong per interval for nothing.
                self.ping_interval = None
        # Frames pipelined behind the handshake are parsed before the app runs.
        self.set_max_message_size(INITIAL_MAX_MESSAGE_BYTES)
        super().handle_connect(event)
        extensions: dict[str, object] = self.scope.setdefault("extensions", {})  # type: ignore[assignment]
        extensions[SEND_TEXT_NOWAIT] = self.send_text_nowait
        extensions[SET_MAX_MESSAGE_SIZE] = self.set_max_message_size

    def handle_parser_exception(self) -> None:
        if self.close_sent:
            return
        assert self.conn.close_sent is not None
        code, reason = self.conn.close_sent.code, self.conn.close_sent.reason
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.read_paused = False  # so that the app's last receive() does not resume reading
        self.transport.pause_reading()
        hold = REFUSED_HOLD_S * random.uniform(0.5, 1.5)
        self.close_timer = self.loop.call_later(hold, self.transport.close)

    def set_max_message_size(self, size: int) -> None:
        limit = self.config.ws_max_size
        self.conn.max_message_size = size if limit is None else min(size, limit)

    def send_text_nowait(self, text: str) -> bool:
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.conn.send_text(text.encode())
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True
