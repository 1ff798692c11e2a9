"""An agent whose every realtime connection has been gone for the grace period counts as
offline (embedded hub), on SQLite and PostgreSQL, with an injected clock.

The server processes share "user U was connected until T" through `realtime_users`; the
sweep sets offline, once, whoever no process has seen since `now - grace`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.db.tables import outbox
from callpad.presence.service import offline_after_grace, record_realtime_users
from callpad.realtime.channels import agent_channel, vendor_feed
from fastapi import FastAPI

from testsupport.api import Api

OWNER, GONE, BACK, API_ONLY = 1, 42, 43, 44
GRACE = timedelta(seconds=60)


@pytest.fixture
async def acme(api: Api) -> None:
    await api.create_vendor(
        "acme", {OWNER: "owner", GONE: "agent", BACK: "agent", API_ONLY: "agent"}
    )
    for user in (GONE, BACK, API_ONLY):
        put = await api.put(user, "/vendors/acme/presence/me", json={"status": "available"})
        assert put.status_code == 200, put.text


async def statuses(api: Api) -> dict[int, str]:
    got = await api.get(OWNER, "/vendors/acme/presence")
    assert got.status_code == 200, got.text
    return {p["user_id"]: p["status"] for p in got.json()["presence"]}


async def seen(ctx: AppContext, users: set[int], now: datetime) -> None:
    async with write_transaction(ctx) as conn:
        await record_realtime_users(conn, users, now)


async def sweep(ctx: AppContext, now: datetime) -> list[int]:
    async with write_transaction(ctx) as conn:
        return [view.user_id for view in await offline_after_grace(conn, GRACE, now)]


async def presence_events(ctx: AppContext) -> list[tuple[Any, ...]]:
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.data, outbox.c.channels)
            .where(outbox.c.topic == "presence.upsert")
            .order_by(outbox.c.id)
        )
        return [(data["user_id"], data["status"], tuple(channels)) for data, channels in rows]


@pytest.mark.usefixtures("acme")
async def test_an_agent_gone_for_the_grace_is_set_offline_once(app: FastAPI, api: Api) -> None:
    ctx: AppContext = app.state.ctx
    t0 = utcnow()
    await seen(ctx, {GONE, BACK}, t0)  # both connected; API_ONLY never connects
    # GONE's connections close; BACK drops and reconnects within the grace.
    await seen(ctx, {BACK}, t0 + GRACE - timedelta(seconds=1))

    assert await sweep(ctx, t0 + GRACE) == [], "not before the grace has passed"
    assert await sweep(ctx, t0 + GRACE + timedelta(seconds=1)) == [GONE]
    assert await sweep(ctx, t0 + GRACE + timedelta(seconds=2)) == [], "once"
    assert await statuses(api) == {GONE: "offline", BACK: "available", API_ONLY: "available"}

    # Announced to every member of the vendor and the feed, as any presence change.
    members = tuple(agent_channel("acme", u) for u in sorted((OWNER, GONE, BACK, API_ONLY)))
    assert (await presence_events(ctx))[-1] == (GONE, "offline", (*members, vendor_feed("acme")))

    # BACK's last connection goes too: offline a grace after it was last seen.
    later = t0 + GRACE - timedelta(seconds=1) + GRACE
    assert await sweep(ctx, later) == []
    assert await sweep(ctx, later + timedelta(seconds=1)) == [BACK]
    # An agent who only ever used the API (no realtime connection) keeps what they set.
    assert await sweep(ctx, later + 100 * GRACE) == []


@pytest.mark.usefixtures("acme")
async def test_setting_presence_again_restarts_the_grace(app: FastAPI, api: Api) -> None:
    """A member seen long ago who sets themselves available is not set offline at once:
    the grace counts from the later of their last connection and their own change."""
    ctx: AppContext = app.state.ctx
    await seen(ctx, {GONE}, utcnow() - 10 * GRACE)
    put = await api.put(GONE, "/vendors/acme/presence/me", json={"status": "available"})
    assert put.status_code == 200, put.text
    set_at = datetime.fromisoformat(put.json()["updated_at"])
    assert await sweep(ctx, set_at + GRACE - timedelta(seconds=1)) == []
    assert await sweep(ctx, set_at + GRACE + timedelta(seconds=1)) == [GONE]


@pytest.mark.usefixtures("acme")
async def test_a_process_behind_never_moves_last_seen_back(app: FastAPI) -> None:
    ctx: AppContext = app.state.ctx
    t0 = utcnow()
    await seen(ctx, {GONE}, t0 + GRACE)
    await seen(ctx, {GONE}, t0)  # another process's older tick, committed later
    assert await sweep(ctx, t0 + GRACE + timedelta(seconds=1)) == []


@pytest.mark.usefixtures("acme")
async def test_concurrent_sweeps_announce_each_member_once(app: FastAPI) -> None:
    """Several server processes sweep at once: one conditional update per member."""
    ctx: AppContext = app.state.ctx
    t0 = utcnow()
    await seen(ctx, {GONE, BACK}, t0)
    before = len(await presence_events(ctx))
    results = await asyncio.gather(*(sweep(ctx, t0 + 2 * GRACE) for _ in range(4)))
    assert sorted(u for changed in results for u in changed) == [GONE, BACK]
    assert len(await presence_events(ctx)) == before + 2


@pytest.mark.usefixtures("acme")
async def test_an_offline_agent_is_not_rung(app: FastAPI, api: Api) -> None:
    ctx: AppContext = app.state.ctx
    put = await api.put(
        OWNER,
        "/vendors/acme/teams/support",
        json={"members": [GONE, BACK], "when_unavailable": "fail"},
    )
    assert put.status_code == 200, put.text
    t0 = utcnow()
    await seen(ctx, {GONE, BACK}, t0)
    await seen(ctx, {BACK}, t0 + 2 * GRACE)
    assert await sweep(ctx, t0 + 2 * GRACE) == [GONE]
    started = await api.post(
        7, "/vendors/acme/sessions", json={"target": {"type": "team", "team": "support"}}
    )
    assert started.status_code == 201, started.text
    rung = [p["user_id"] for p in started.json()["session"]["participants"] if p["role"] == "agent"]
    assert rung == [BACK]
