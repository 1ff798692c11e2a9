"""The app under uvicorn, with no ticker: an idle server sleeps until a socket or a signal.

uvicorn's own `Server.serve()` wakes ten times a second, to refresh the `Date` header once
a second and to notice a stop request set by its signal handler. Here the `Date` header
is computed when a response asks for it (at most once a second), and the signals are the
event loop's own (they wake it), so nothing runs while no request comes in.

A stop (SIGTERM, or Ctrl-C) stops accepting, asks open connections to finish, waits for
them up to `shutdown_timeout_s`, then cancels what is left; a second Ctrl-C cancels at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Callable
from email.utils import formatdate

import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import ServerState

from .realtime.server import HubWebSocketProtocol

__all__ = ["serve"]


async def serve(
    app: ASGIApp,
    sock: socket.socket,
    *,
    websocket_protocol: type[HubWebSocketProtocol],
    shutdown_timeout_s: int,
    on_listening: Callable[[], None],
) -> None:
    """Serve `app` on `sock` until SIGTERM or SIGINT. `on_listening` runs once stop
    signals are handled, before the first connection is accepted."""
    config = uvicorn.Config(
        app,
        lifespan="off",  # the caller runs the app's lifespan around this
        log_level="info",
        # Centrifugo clients: accept an empty subprotocol header; no compression, as
        # Centrifugo's default (it costs memory per connection).
        ws=websocket_protocol,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=shutdown_timeout_s,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    server.server_state = DatedServerState(config.encoded_headers)
    stopping = asyncio.Event()

    def stop(sig: signal.Signals) -> None:
        if stopping.is_set() and sig == signal.SIGINT:
            server.force_exit = True  # a second Ctrl-C: stop waiting for connections
        server.should_exit = True
        stopping.set()

    loop = asyncio.get_running_loop()
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    for sig in stop_signals:
        loop.add_signal_handler(sig, stop, sig)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(_no_traceback_for_cancelled_requests)
    try:
        on_listening()
        await server.startup(sockets=[sock])
        await stopping.wait()
        await server.shutdown(sockets=[sock])
        cancelled = list(server.server_state.tasks)
        if cancelled:  # past the timeout: let them finish being cancelled
            await asyncio.wait(cancelled)
    finally:
        # What follows (the app's own shutdown) can still be interrupted.
        for sig in stop_signals:
            loop.remove_signal_handler(sig)
        uvicorn_log.removeFilter(_no_traceback_for_cancelled_requests)


def _no_traceback_for_cancelled_requests(record: logging.LogRecord) -> bool:
    """uvicorn logs each request it cancels at the shutdown timeout as an error of the
    app, with a traceback; its own line before them ("Cancel N running task(s), timeout
    graceful shutdown exceeded") already says what happened."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


class DatedServerState(ServerState):
    """uvicorn's state shared by every connection, whose `default_headers` (`Date`, then
    `Server`) are built when a response reads them, once per second of the clock."""

    def __init__(self, encoded_headers: list[tuple[bytes, bytes]]) -> None:
        self._others = encoded_headers
        self._second = -1
        self._headers: list[tuple[bytes, bytes]] = []
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        second = int(time.time())
        if second != self._second:
            self._second = second
            date = formatdate(second, usegmt=True).encode()
            self._headers = [(b"date", date), *self._others]
        return self._headers

    @default_headers.setter
    def default_headers(self, value: list[tuple[bytes, bytes]]) -> None:
        # uvicorn sets it (to []) on construction; the headers it stands for are ours.
        pass
