"""Every change writes its realtime events in its own transaction, on the right channels."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.db.tables import outbox
from callpad.realtime.channels import user_channel
from callpad.realtime.outbox import (
    OutboxEvent,
    OutboxFanOut,
    claim_unpublished,
    delete_published_events,
    rows_after,
    stored_events,
    write_events,
)
from callpad.sessions import service
from callpad.sessions.events import fan_out
from fastapi import FastAPI

from testsupport.api import Api, eventually

from .conftest import AGENT, CUSTOMER, OWNER

START = "/vendors/acme/sessions"


async def events_after(app: FastAPI, after_id: int) -> list[dict[str, Any]]:
    ctx: AppContext = app.state.ctx
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.id, outbox.c.topic, outbox.c.channels, outbox.c.data)
            .where(outbox.c.id > after_id)
            .order_by(outbox.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def last_id(app: FastAPI) -> int:
    ctx: AppContext = app.state.ctx
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.max(outbox.c.id)))).scalar() or 0)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(e["topic"], e["channels"]) for e in events]


AGENT_CH, CUSTOMER_CH, FEED = "agent:acme#42", "user:#7", "vendor:acme"


async def test_each_change_writes_the_events_its_viewers_need(
    api: Api, app: FastAPI, acme: Any
) -> None:
    mark = await last_id(app)
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    session = started.json()["session"]
    events = await events_after(app, mark)
    assert summary(events) == [
        ("session.upsert", [AGENT_CH, CUSTOMER_CH, FEED]),
        ("session.invite.upsert", [AGENT_CH]),
    ]
    assert events[0]["data"] == session
    invite = events[1]["data"]
    assert invite["session_id"] == session["id"]
    assert invite["participant"]["user_id"] == AGENT

    mark = await last_id(app)
    pid = invite["participant_id"]
    accepted = await api.post(AGENT, f"{START}/{session['id']}/participants/{pid}/accept")
    events = await events_after(app, mark)
    assert summary(events) == [
        ("session.upsert", [AGENT_CH, CUSTOMER_CH, FEED]),
        ("session.invite.remove", [AGENT_CH]),
    ]
    assert events[0]["data"]["version"] == accepted.json()["session"]["version"] == 2
    assert events[1]["data"] == {
        "invite_id": invite["id"],
        "session_id": session["id"],
        "participant_id": pid,
        "state": "accepted",
        "state_reason": None,
    }

    mark = await last_id(app)
    await api.post(AGENT, f"{START}/{session['id']}/end")
    events = await events_after(app, mark)
    assert summary(events) == [
        ("session.upsert", [AGENT_CH, CUSTOMER_CH, FEED]),
        ("session.remove", [AGENT_CH, CUSTOMER_CH, FEED]),
    ]
    assert events[1]["data"] == {"session_id": session["id"], "version": 3}


async def test_a_declined_user_is_told_to_drop_the_session(
    api: Api, app: FastAPI, acme: Any
) -> None:
    started = await api.post(
        AGENT, START, json={"target": {"type": "customer", "user_id": CUSTOMER}}
    )
    session = started.json()["session"]
    await api.post(
        AGENT,
        f"{START}/{session['id']}/participants",
        json={"target": {"type": "vendor_user", "user_id": OWNER}},
    )
    owner_pid = next(
        p["id"]
        for p in (await api.get(AGENT, f"{START}/{session['id']}")).json()["participants"]
        if p["user_id"] == OWNER
    )
    mark = await last_id(app)
    await api.post(OWNER, f"{START}/{session['id']}/participants/{owner_pid}/reject")
    events = await events_after(app, mark)
    assert summary(events) == [
        ("session.upsert", ["agent:acme#1", AGENT_CH, CUSTOMER_CH, FEED]),
        ("session.invite.remove", ["agent:acme#1"]),
        ("session.remove", ["agent:acme#1"]),
    ]


async def test_a_rolled_back_change_leaves_no_event(api: Api, app: FastAPI, acme: Any) -> None:
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    sid = started.json()["session"]["id"]
    mark = await last_id(app)
    ctx: AppContext = app.state.ctx

    with pytest.raises(RuntimeError, match="boom"):  # noqa: PT012 - the rollback is the point
        async with ctx.db.write() as conn:
            changed = await service.cancel_session(ctx, conn, "acme", sid, CUSTOMER, utcnow())
            assert changed.session.end_reason is not None
            written = await events_after_in(conn, mark)  # written inside the transaction...
            assert written[0]["topic"] == "session.upsert"
            assert written[0]["data"] == changed.view.model_dump(mode="json")
            raise RuntimeError("boom")
    assert await events_after(app, mark) == []  # ...and gone with it
    view = (await api.get(CUSTOMER, f"{START}/{sid}")).json()
    assert view["state"] == "ringing"


async def events_after_in(conn: Any, after_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(outbox.c.topic, outbox.c.data).where(outbox.c.id > after_id).order_by(outbox.c.id)
    )
    return [dict(row._mapping) for row in rows]


async def test_a_refused_action_writes_no_event(api: Api, app: FastAPI, acme: Any) -> None:
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    sid = started.json()["session"]["id"]
    mark = await last_id(app)
    assert (await api.post(CUSTOMER, f"{START}/{sid}/end")).status_code == 403
    assert await events_after(app, mark) == []


async def test_published_rows_are_purged_after_the_retention(
    api: Api, app: FastAPI, acme: Any
) -> None:
    from datetime import timedelta

    from callpad.workers import Workers

    await api.post(CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}})
    ctx: AppContext = app.state.ctx
    ctx.settings.retention_s = 60  # not the default, so the setting is what is obeyed
    now = utcnow()
    async with ctx.db.write() as conn:
        ids = (await conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id))).scalars().all()
        old, recent = ids[0], ids[1]
        for row_id, age in ((old, 61), (recent, 59)):
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row_id)
                .values(published_at=now - timedelta(seconds=age))
            )
    await Workers(ctx).purge_expired_rows()
    remaining = {e["id"] for e in await events_after(app, 0)}
    assert old not in remaining
    assert recent in remaining
    assert set(ids[2:]) <= remaining  # rows not yet marked published are kept


def test_a_run_of_single_channel_events_becomes_one_fan_out_keeping_each_channels_order() -> None:
    def event(topic: str, n: int, *channels: str) -> OutboxEvent:
        return OutboxEvent(topic, {"n": n}, channels)

    upsert, remove, invite = "session.upsert", "session.invite.remove", "session.invite.upsert"
    events = [
        event(upsert, 1, "user:#7", FEED),
        event(remove, 2, "agent:acme#1"),
        event(remove, 3, "agent:acme#2"),
        event(remove, 4, "agent:acme#1"),  # a channel already in the run: a new run
        event(invite, 5, "agent:acme#1"),  # another topic: a new run, alone
        event(remove, 6, "agent:acme#3"),
        event(upsert, 7, "user:#7", FEED),
    ]
    assert fan_out(events) == [
        events[0],
        OutboxFanOut(remove, (("agent:acme#1", {"n": 2}), ("agent:acme#2", {"n": 3}))),
        events[3],
        events[4],
        events[5],
        events[6],
    ]


async def test_a_fan_out_row_is_marked_as_one_and_every_reader_splits_it(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    mark = await last_id(app)
    one, two = "agent:acme#1", "agent:acme#2"
    fan = OutboxFanOut("session.invite.remove", ((one, {"n": 1}), (two, {"n": 2})))
    event = OutboxEvent("session.upsert", {"n": 3}, (one, two))
    async with write_transaction(ctx) as conn:
        assert await write_events(conn, [fan, event], utcnow()) == 3
    async with ctx.db.read() as conn:
        stored = await conn.execute(
            sa.select(outbox.c.topic, outbox.c.channels, outbox.c.data, outbox.c.fanned_out)
            .where(outbox.c.id > mark)
            .order_by(outbox.c.id)
        )
        assert [e for row in stored for e in stored_events(*row)] == [
            ("session.invite.remove", [one], {"n": 1}),
            ("session.invite.remove", [two], {"n": 2}),
            ("session.upsert", [one, two], {"n": 3}),
        ]
        after_mark = await rows_after(conn, mark, 10)
    # Claimed as Centrifugo mode's relays claim them: unpublished (as after a crash), in a
    # transaction rolled back, so this process's relay never sees them unmarked.
    with contextlib.suppress(RolledBack):
        async with ctx.db.write() as conn:
            await conn.execute(outbox.update().where(outbox.c.id > mark).values(published_at=None))
            claimed = await claim_unpublished(conn, 10, lock=True)
            raise RolledBack
    whole = {"topic": "session.upsert", "data": {"n": 3}}
    for rows in (after_mark, claimed):
        assert [r.fanned_out for r in rows] == [True, False]
        for row in rows:
            assert [(c, orjson.loads(text)) for c, text in row.publications()] == row.payloads()
        assert rows[0].payloads() == [
            (one, {"topic": "session.invite.remove", "data": {"n": 1}}),
            (two, {"topic": "session.invite.remove", "data": {"n": 2}}),
        ]
        assert rows[1].payloads() == [(one, whole), (two, whole)]


class RolledBack(Exception):
    pass


async def test_a_change_after_every_published_row_was_purged_still_reaches_the_hub(
    api: Api, app: FastAPI, acme: Any
) -> None:
    ctx: AppContext = app.state.ctx
    assert ctx.hub is not None
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    sid = started.json()["session"]["id"]
    async with ctx.db.write() as conn:  # past the retention of everything published
        await delete_published_events(conn, utcnow() + timedelta(days=1))
    cancelled = await api.post(CUSTOMER, f"{START}/{sid}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    def told() -> list[str] | None:
        history = ctx.hub.history(user_channel(CUSTOMER)) if ctx.hub else []
        topics = [data["topic"] for _, data in history if data["data"].get("version") == 2]
        return topics if len(topics) == 2 else None

    # Every event of the cancel, not only those whose ids happen to be above the cursor.
    assert await eventually(told, within_s=5) == ["session.upsert", "session.remove"]
