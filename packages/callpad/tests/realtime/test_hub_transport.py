"""The lean per-socket parts of `HubWebSocketProtocol`: the receive queue and the
"writable" flag that stand in for `asyncio.Queue` and `asyncio.Event` (each socket holds
one of each for its whole life), the parser that forgets the handshake, the slots.
uvicorn relies on the queue's and the flag's order and wake-ups: a message lost or
reordered here is a command lost; a waiter not woken is a writer stuck forever."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
import uvicorn
from callpad.realtime.hub.streams import Stream
from callpad.realtime.server import Flag, HubWebSocketProtocol, Inbox, LeanServerProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame
from websockets.http11 import Request
from websockets.server import ServerProtocol


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
    assert [p.offset for p in first.history] == [2]
    assert not second.history  # untouched by the other stream's publications
    second.append('{"n":1}', None, now=11.0)
    assert [p.data for p in first.history] == ['{"n":2}']
    assert [p.data for p in second.history] == ['{"n":1}']


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
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


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
