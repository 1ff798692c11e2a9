"""The lean per-socket parts of `HubWebSocketProtocol`: the receive queue and the
"writable" flag that stand in for `asyncio.Queue` and `asyncio.Event` (each socket holds
one of each for its whole life). uvicorn relies on their order and wake-ups: a message
lost or reordered here is a command lost; a waiter not woken is a writer stuck forever."""

from __future__ import annotations

import asyncio

from callpad.realtime.hub.streams import Stream
from callpad.realtime.server import Flag, Inbox


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
