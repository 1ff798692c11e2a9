"""The connection a server process LISTENs on for the others' commits: a connection that
stops answering without its socket closing (a host or network gone) is replaced at the
next safety poll, and what it missed counts as changed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from callpad.config import to_async_url
from callpad.db import changes
from callpad.db.transaction import AfterCommit
from sqlalchemy.ext.asyncio import create_async_engine

from testsupport.api import eventually

pytestmark = pytest.mark.postgres


class Proxy:
    """A TCP proxy to PostgreSQL whose open connections can be silenced: bytes stop
    flowing both ways while the sockets stay open, as when the network between is gone."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silenced: list[asyncio.Event] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent = asyncio.Event()
        self.silenced.append(silent)
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if silent.is_set():
                    await asyncio.Event().wait()  # hold everything, close nothing
                dst.write(data)
                await dst.drain()

        with contextlib.suppress(OSError):
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def silence_all(self) -> None:
        for silent in self.silenced:
            silent.set()

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def proxied(url: str) -> AsyncIterator[tuple[Proxy, str]]:
    parts = urlsplit(url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield proxy, parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}").geturl()
    finally:
        server.close()
        await proxy.close()
        await server.wait_closed()


async def test_a_listen_connection_that_stops_answering_is_replaced(postgres_url: str) -> None:
    heard: list[AfterCommit] = []
    async with proxied(postgres_url) as (proxy, dsn):
        listening = asyncio.Event()
        task = asyncio.create_task(
            changes.listen(
                dsn, "me", heard.append, listening=listening, check_interval_s=0.3, timeout_s=0.5
            )
        )
        try:
            await asyncio.wait_for(listening.wait(), 10)
            proxy.silence_all()
            # The next check gets no answer: a new connection, and everything counts as
            # changed (the notifications sent meanwhile are lost).
            await eventually(lambda: len(heard) == 1)
            assert heard[0].outbox_written and heard[0].dispatch_queue_changed

            engine = create_async_engine(to_async_url(postgres_url))
            try:
                async with engine.begin() as conn:
                    await changes.announce(conn, AfterCommit(outbox_written=True), "another")
            finally:
                await engine.dispose()
            await eventually(lambda: len(heard) == 2)  # heard on the new connection
            assert heard[1].outbox_written and not heard[1].dispatch_queue_changed
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
