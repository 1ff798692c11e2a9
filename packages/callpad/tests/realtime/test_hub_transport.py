"""The lean per-socket parts of `HubWebSocketProtocol`: the receive queue and the
"writable" flag that stand in for `asyncio.Queue` and `asyncio.Event` (each socket holds
one of each for its whole life), the parser that forgets the handshake, the slots.
uvicorn relies on the queue's and the flag's order and wake-ups: a message lost or
reordered here is a command lost; a waiter not woken is a writer stuck forever."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from callpad.app import create_app
from callpad.realtime.channels import user_channel
from callpad.realtime.hub.streams import Stream
from callpad.realtime.runtime import hub_websocket_protocol
from callpad.realtime.server import Flag, HubWebSocketProtocol, Inbox, LeanServerProtocol
from callpad.realtime.tokens import mint_connection_token
from callpad.testing import fast_settings, migrate
from uvicorn.server import ServerState
from websockets.frames import Frame
from websockets.http11 import Request
from websockets.server import ServerProtocol

from testsupport.api import eventually

from .conftest import bound_socket


async def test_inbox_gives_items_in_order_and_wakes_its_reader() -> None:
    inbox: Inbox[str] = Inbox()
    assert inbox.empty()
    inbox.put_nowait("connect")
    inbox.put_nowait("receive 1")
    assert not inbox.empty()
    assert await inbox.get() == "connect"
    assert await inbox.get() == "receive 1"
    assert inbox.empty()

    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()  # waits for the next item
    inbox.put_nowait("receive 2")
    inbox.put_nowait("disconnect")
    assert await reader == "receive 2"
    assert await inbox.get() == "disconnect"


async def test_inbox_reader_cancelled_while_waiting_leaves_later_items_intact() -> None:
    inbox: Inbox[str] = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    inbox.put_nowait("receive")
    assert await asyncio.wait_for(inbox.get(), 1) == "receive"


async def test_flag_blocks_waiters_while_cleared_and_wakes_all_when_set() -> None:
    flag = Flag()
    flag.set()
    await asyncio.wait_for(flag.wait(), 1)  # set: returns at once

    flag.clear()  # the transport's buffer is full
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()  # drained
    await asyncio.wait_for(asyncio.gather(*waiters), 1)

    flag.clear()
    cancelled = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    flag.set()
    await asyncio.wait_for(flag.wait(), 1)


def test_a_stream_whose_history_empties_still_takes_new_publications() -> None:
    # Empty histories share one placeholder; a publication after trimming gets its own.
    first, second = Stream("user:#1"), Stream("user:#2")
    first.append('{"n":1}', "k1", now=0.0)
    first.trim(size=10, ttl_s=5.0, now=10.0)
    assert not first.history and not first.keys
    first.append('{"n":2}', None, now=11.0)
    assert [offset for offset, *_ in first.history] == [2]
    assert not second.history  # untouched by the other stream's publications
    second.append('{"n":1}', None, now=11.0)
    assert [data for _, data, *_ in first.history] == ['{"n":2}']
    assert [data for _, data, *_ in second.history] == ['{"n":1}']


def _handshake(path: str = "/connection/websocket") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def _masked_text(text: str) -> bytes:
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        head = bytes([0x81, 0x80 | len(payload)])
    else:
        head = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    return head + mask + masked


def test_lean_parser_forgets_the_handshake_and_loses_no_frame_pipelined_behind_it() -> None:
    # The frame arrives in the same read as the handshake, and the next one split in two:
    # not a byte may be lost where the handshake's parser hands over to the frames'.
    protocol = LeanServerProtocol()
    first, second = _masked_text('{"id":1,"connect":{}}'), _masked_text('{"id":2}')
    protocol.receive_data(_handshake() + first + second[:3])
    request, frame = protocol.events_received()
    assert isinstance(request, Request) and request.path == "/connection/websocket"
    protocol.send_response(protocol.accept(request))
    assert isinstance(frame, Frame) and frame.data == b'{"id":1,"connect":{}}'
    protocol.receive_data(second[3:])
    (frame,) = protocol.events_received()
    assert isinstance(frame, Frame) and frame.data == b'{"id":2}'

    # Nothing but the caller held the request: an idle socket does not keep it (~2 KB).
    gone = weakref.ref(request)
    del request
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize(
    "received",
    [b"NOT HTTP\r\n\r\n", b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 9000 + b"\r\n\r\n"],
)
def test_lean_parser_refuses_a_bad_handshake_as_websockets_does(received: bytes) -> None:
    lean, stock = LeanServerProtocol(), ServerProtocol()
    for protocol in (lean, stock):
        protocol.receive_data(received)
    assert lean.events_received() == stock.events_received() == []
    assert type(lean.handshake_exc) is type(stock.handshake_exc)
    assert lean.handshake_exc is not None
    assert b"".join(lean.data_to_send()) == b"".join(stock.data_to_send())


async def test_hub_protocol_keeps_its_state_in_slots_not_a_dict() -> None:
    # Every attribute uvicorn's protocol sets is a slot: a dict per socket costs ~1.3 KB.
    # (uvicorn adding an attribute fails here: add it to `__slots__`.)
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    config = uvicorn.Config(app, ws=HubWebSocketProtocol, proxy_headers=False)
    config.load()
    protocol = HubWebSocketProtocol(config, ServerState(), {})
    assert vars(protocol) == {}


async def _frames(reader: asyncio.StreamReader, seconds: float) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every unmasked frame the server sends within `seconds`."""
    frames: list[tuple[int, bytes]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                head = await reader.readexactly(2)
                size = head[1] & 0x7F
                if size == 126:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                elif size == 127:
                    size = int.from_bytes(await reader.readexactly(8), "big")
                frames.append((head[0] & 0x0F, await reader.readexactly(size)))
    return frames


async def test_hub_sockets_carry_the_hubs_pings_not_uvicorns(tmp_path: Path) -> None:
    # uvicorn set to ping every 0.1 s: the hub's sockets still get only the hub's `{}`.
    settings = fast_settings(f"sqlite:///{tmp_path / 'callpad.db'}", realtime_ping_interval_s=0.3)
    await migrate(settings)
    app = create_app(settings)
    config = uvicorn.Config(
        app, log_level="warning", ws=hub_websocket_protocol(app), ws_ping_interval=0.1
    )
    server = uvicorn.Server(config)
    sock = bound_socket()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started)
        port = sock.getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_handshake())
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        token, _ = mint_connection_token(settings.realtime_hmac_secret, 7, [user_channel(7)], 60)
        writer.write(_masked_text(f'{{"id":1,"connect":{{"token":"{token}"}}}}'))
        frames = await _frames(reader, 1.0)
        writer.close()
    finally:
        server.should_exit = True
        await task
        sock.close()
    opcodes = {opcode for opcode, _ in frames}
    assert opcodes == {0x1}, frames  # text frames only: no ping (0x9) from uvicorn
    texts = [payload.decode() for _, payload in frames]
    assert '"connect"' in texts[0]
    assert texts.count("{}") >= 2  # the hub's own pings, every 0.3 s
