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
  socket is then neither read nor closed for `REFUSED_HOLD_S`: closing at once would let
  a client that waits for the close (as one blocked sending 16 MiB does) retry at once,
  and each retry costs a handshake. Nothing of it is read meanwhile; shutdown closes it.
- Memory: an idle realtime connection may live for hours, and thousands of them are
  normal, so each holds as little as it can. The receive queue and the "writable" flag
  are single-purpose versions of `asyncio.Queue` and `asyncio.Event` (each of those
  allocates deques of 64 slots, ~2.3 KB and ~0.8 KB per socket, for a queue that is
  nearly always empty and a flag that is nearly always set), and the handshake's request
  and response and the scope's copy of the headers (~5 KB) are dropped once the
  handshake is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = [
    "INITIAL_MAX_MESSAGE_BYTES",
    "REFUSED_HOLD_S",
    "SEND_TEXT_NOWAIT",
    "SET_MAX_MESSAGE_SIZE",
    "HubWebSocketProtocol",
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


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
            self.scope["headers"] = []

    def handle_connect(self, event: Request) -> None:
        offered = event.headers.get_all("Sec-WebSocket-Protocol")
        if offered and not any(value.strip(" ,") for value in offered):
            del event.headers["Sec-WebSocket-Protocol"]
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
        self.close_timer = self.loop.call_later(REFUSED_HOLD_S, self.transport.close)

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
