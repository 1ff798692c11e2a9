"""One WebSocket connection: who it is, what it reads, and its one FIFO outbound queue.

Frames are written at once when nothing is queued and the transport takes them
(`callpad.send_text_nowait`); otherwise they wait in the queue for one writer task. A
queue past its byte bound closes the connection with 3008 (slow). Whoever owns the
connection learns that it is done through `on_close`, called once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..protocol import Disconnect
from ..server import SEND_TEXT_NOWAIT
from .streams import Stream

__all__ = ["Connection"]


class Connection:
    __slots__ = (
        "__weakref__",
        "_on_close",
        "client_id",
        "closing",
        "connected",
        "created_at",
        "expires_at",
        "next_ping_at",
        "pong_due_at",
        "queue",
        "queue_max_bytes",
        "queued_bytes",
        "received_bytes",
        "send_nowait",
        "streams",
        "user",
        "websocket",
        "writer",
    )

    def __init__(
        self,
        websocket: WebSocket,
        *,
        queue_max_bytes: int,
        on_close: Callable[[Connection], None],
        now: float,
    ) -> None:
        self.websocket = websocket
        self.queue_max_bytes = queue_max_bytes
        self._on_close: Callable[[Connection], None] | None = on_close
        self.client_id = str(uuid.uuid4())
        self.user = ""
        self.connected = False
        self.closing: tuple[int, str] | None = None
        self.created_at = now
        self.received_bytes = 0  # counted until `connect` succeeds
        self.expires_at: float | None = None  # wall clock, from the token's exp
        self.next_ping_at = 0.0
        self.pong_due_at: float | None = None
        self.streams: dict[str, Stream] = {}
        # A list, swapped whole by the writer: an empty deque costs ~700 bytes per socket.
        self.queue: list[str] = []
        self.queued_bytes = 0
        self.writer: asyncio.Task[None] | None = None
        extensions = websocket.scope.get("extensions") or {}
        self.send_nowait: Callable[[str], bool] | None = extensions.get(SEND_TEXT_NOWAIT)

    def send(self, frame: str) -> None:
        if self.closing is not None:
            return
        if self.writer is None and self.send_nowait is not None and self.send_nowait(frame):
            return  # written at once: nothing queued before it, the transport is writable
        self.queue.append(frame)
        self.queued_bytes += len(frame)
        if self.queued_bytes > self.queue_max_bytes:
            self.close(Disconnect.SLOW)
            return
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        websocket = self.websocket
        try:
            while self.queue and self.closing is None:
                frames, self.queue = self.queue, []
                self.queued_bytes = 0
                await websocket.send_text("\n".join(frames))
            if self.closing is not None:
                code, reason = self.closing
                await websocket.close(code, reason)
        except (OSError, RuntimeError, WebSocketDisconnect):
            self.closing = self.closing or (Disconnect.WRITE_ERROR, Disconnect.WRITE_ERROR.reason)
            self._closed()
        finally:
            if self.writer is asyncio.current_task():
                self.writer = None

    def close(self, code: Disconnect | int, reason: str | None = None) -> None:
        """Stop delivering at once; the close frame follows what the writer is sending."""
        if self.closing is not None:
            return
        text = reason if reason is not None else Disconnect(code).reason
        self.closing = (int(code), text)
        self.queue = []
        self.queued_bytes = 0
        self._closed()
        if self.writer is not None:
            # Blocked on a peer that does not read: drop that write (nothing of it was
            # written yet: uvicorn waits for the transport to be writable first).
            self.writer.cancel()
            self.writer = None
        self.writer = asyncio.get_running_loop().create_task(self._write())

    def _closed(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)

    async def finish(self) -> None:
        """The socket is gone: stop the writer and tell the owner."""
        if self.closing is None:
            self.closing = (Disconnect.CONNECTION_CLOSED, Disconnect.CONNECTION_CLOSED.reason)
        self._closed()
        writer = self.writer
        if writer is not None and not writer.done():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
