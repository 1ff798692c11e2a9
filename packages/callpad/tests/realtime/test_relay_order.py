"""The relay on both databases: events reach each channel once, in commit order, and a
rolled-back event never does. On PostgreSQL an earlier outbox id can commit after a later
one; the relay must still deliver both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.realtime.outbox import OutboxEvent, write_events
from fastapi import FastAPI

CHANNEL = "user:#7"


def event(label: str) -> OutboxEvent:
    return OutboxEvent("test.event", {"label": label}, (CHANNEL,))


async def published(app: FastAPI, count: int) -> list[str]:
    """The labels in the channel's stream once it holds `count` publications."""
    ctx: AppContext = app.state.ctx
    assert ctx.hub is not None
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        labels = [data["data"]["label"] for _offset, data in ctx.hub.history(CHANNEL)]
        if len(labels) >= count or asyncio.get_running_loop().time() > deadline:
            return labels
        await asyncio.sleep(0.01)


async def test_a_late_commit_of_an_earlier_id_is_delivered_in_commit_order(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    commits: list[str] = []
    first_written = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with write_transaction(ctx) as conn:
            await write_events(conn, [event("first")], utcnow())  # the lower outbox id
            first_written.set()
            await release_first.wait()
        commits.append("first")

    async def second() -> None:
        async with write_transaction(ctx) as conn:
            await write_events(conn, [event("second")], utcnow())
        commits.append("second")

    holder = asyncio.create_task(first())
    await first_written.wait()
    later = asyncio.create_task(second())
    # PostgreSQL commits `second` now, while `first` holds the lower id open, and the relay
    # publishes it without waiting for the gap; SQLite has one writer, so `second` waits for
    # `first`. Either way the stream follows the commits.
    await asyncio.wait({later}, timeout=0.5)
    if ctx.db.is_sqlite:
        assert not later.done()  # one writer: `second` waits for `first`
    else:
        assert later.done()
        assert await published(app, 1) == ["second"]
    release_first.set()
    await asyncio.gather(holder, later)
    assert sorted(commits) == ["first", "second"]
    assert await published(app, 2) == commits


async def test_a_rolled_back_event_is_never_published(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    with pytest.raises(RuntimeError, match="rolled back"):  # noqa: PT012 - the rollback is the point
        async with write_transaction(ctx) as conn:
            await write_events(conn, [event("rolled back")], utcnow())
            raise RuntimeError("rolled back")
    async with write_transaction(ctx) as conn:
        await write_events(conn, [event("kept")], utcnow())
    assert await published(app, 1) == ["kept"]
    await asyncio.sleep(0.3)  # a late sweep would show up here
    assert ctx.hub is not None
    labels: list[Any] = [data["data"]["label"] for _offset, data in ctx.hub.history(CHANNEL)]
    assert labels == ["kept"]
