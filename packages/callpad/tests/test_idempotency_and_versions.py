"""Idempotency-Key replays the first response; If-Match refuses stale writes with 412."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from callpad.context import AppContext
from callpad.db.tables import sessions
from fastapi import FastAPI

from testsupport.api import Api

from .conftest import AGENT, CUSTOMER, participant

START = "/vendors/acme/sessions"
CALL_AGENT = {"target": {"type": "vendor_user", "user_id": AGENT}}


async def session_count(app: FastAPI) -> int:
    ctx: AppContext = app.state.ctx
    async with ctx.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(sessions))).scalar() or 0
        )


async def test_a_retried_start_returns_the_first_response(
    api: Api, app: FastAPI, acme: Any
) -> None:
    key = {"Idempotency-Key": "start-1"}
    first = await api.post(CUSTOMER, START, json=CALL_AGENT, headers=key)
    again = await api.post(CUSTOMER, START, json=CALL_AGENT, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await session_count(app) == 1


async def test_concurrent_retries_with_one_key_apply_once(
    api: Api, app: FastAPI, acme: Any
) -> None:
    key = {"Idempotency-Key": "start-concurrent"}
    responses = await asyncio.gather(
        *(api.post(CUSTOMER, START, json=CALL_AGENT, headers=key) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["session"]["id"] for r in responses}) == 1
    assert await session_count(app) == 1


async def test_a_key_reused_for_another_request_is_refused(
    api: Api, app: FastAPI, acme: Any
) -> None:
    key = {"Idempotency-Key": "start-2"}
    await api.post(CUSTOMER, START, json=CALL_AGENT, headers=key)
    other = await api.post(CUSTOMER, START, json={**CALL_AGENT, "name": "other"}, headers=key)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert await session_count(app) == 1


async def test_keys_belong_to_their_user(api: Api, app: FastAPI, acme: Any) -> None:
    key = {"Idempotency-Key": "same-key"}
    await api.post(CUSTOMER, START, json=CALL_AGENT, headers=key)
    await api.post(8, START, json=CALL_AGENT, headers=key)
    assert await session_count(app) == 2


async def test_a_failed_request_is_not_remembered(api: Api, app: FastAPI, acme: Any) -> None:
    key = {"Idempotency-Key": "accept-1"}
    started = (await api.post(CUSTOMER, START, json=CALL_AGENT)).json()["session"]
    sid = started["id"]
    pid = participant(started, AGENT)["id"]
    accept = f"{START}/{sid}/participants/{pid}/accept"
    wrong_user = await api.post(CUSTOMER, accept, headers=key)
    assert wrong_user.status_code == 403
    first = await api.post(AGENT, accept, headers=key)
    replay = await api.post(AGENT, accept, headers=key)
    assert first.status_code == replay.status_code == 200
    assert replay.json()["session"]["version"] == first.json()["session"]["version"] == 2


async def test_if_match_refuses_a_stale_version_with_the_current_view(api: Api, acme: Any) -> None:
    started = (
        await api.post(AGENT, START, json={"target": {"type": "customer", "user_id": CUSTOMER}})
    ).json()
    sid, version = started["session"]["id"], started["session"]["version"]
    renamed = await api.patch(
        AGENT, f"{START}/{sid}", json={"name": "first"}, headers={"If-Match": str(version)}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["version"] == version + 1
    stale = await api.patch(
        AGENT, f"{START}/{sid}", json={"name": "second"}, headers={"If-Match": f'"{version}"'}
    )
    assert stale.status_code == 412
    problem = stale.json()
    assert problem["code"] == "version_mismatch"
    assert (problem["session"]["name"], problem["session"]["version"]) == ("first", version + 1)
    current = (await api.get(AGENT, f"{START}/{sid}")).json()
    assert (current["name"], current["version"]) == ("first", version + 1)
    bad = await api.patch(AGENT, f"{START}/{sid}", json={"name": "x"}, headers={"If-Match": "soon"})
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
