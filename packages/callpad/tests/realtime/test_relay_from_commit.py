"""A committed change's events go to this process's hub straight from the commit, before the
request's response, and the relay does not publish them again; rows written elsewhere first
keep their place in line."""

from __future__ import annotations

from typing import Any

from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.realtime.channels import agent_channel
from callpad.realtime.outbox import OutboxEvent, write_events
from callpad.realtime.relay import OutboxRelay
from fastapi import FastAPI

from testsupport.api import Api, eventually

CUSTOMER, AGENT = 7, 42
CHANNEL = "user:#7"


def event(label: str) -> OutboxEvent:
    return OutboxEvent("test.event", {"label": label}, (CHANNEL,))


async def ready_relay(app: FastAPI) -> OutboxRelay:
    """The app's relay, once its first step has placed its cursor."""
    ctx: AppContext = app.state.ctx
    return await eventually(
        lambda: ctx.relay if ctx.relay and ctx.relay.delivers_committed else None
    )


def labels(app: FastAPI) -> list[Any]:
    ctx: AppContext = app.state.ctx
    assert ctx.hub is not None
    return [data["data"]["label"] for _offset, data in ctx.hub.history(CHANNEL)]


async def test_the_invite_is_in_the_agents_stream_when_start_answers(
    app: FastAPI, api: Api
) -> None:
    await api.create_vendor("acme", {AGENT: "agent"})
    relay = await ready_relay(app)
    ctx: AppContext = app.state.ctx
    assert ctx.hub is not None
    started = await api.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    assert started.status_code == 201, started.text
    session_id = started.json()["session"]["id"]
    # Read at once, with no await after the response: the relay has not been asked to run.
    invites = [
        data["data"]
        for _offset, data in ctx.hub.history(agent_channel("acme", AGENT))
        if data["topic"] == "session.invite.upsert"
    ]
    assert [i["session_id"] for i in invites] == [session_id]
    assert await relay.step() == 0  # nothing left for the relay: published once


async def test_a_committed_change_is_published_once_without_the_relay(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    relay = await ready_relay(app)
    async with write_transaction(ctx) as conn:
        await write_events(conn, [event("a"), event("b")], utcnow())
    assert labels(app) == ["a", "b"]
    assert await relay.step() == 0
    assert labels(app) == ["a", "b"]


async def test_rows_committed_elsewhere_first_are_published_before_ours(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    relay = await ready_relay(app)
    # Another writer (another process's transaction, as far as this relay knows) commits
    # first; its row is not handed to this hub from the commit.
    async with ctx.db.write() as conn:
        await write_events(conn, [event("elsewhere")], utcnow())
    async with write_transaction(ctx) as conn:
        await write_events(conn, [event("ours")], utcnow())
    assert labels(app) == []  # ours waits for the row before it
    await eventually(lambda: len(labels(app)) == 2)
    assert labels(app) == ["elsewhere", "ours"]
    assert await relay.step() == 0
    assert labels(app) == ["elsewhere", "ours"]
