"""Bad input answers a problem+json with a stable code, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from callpad.context import AppContext
from callpad.db.tables import outbox, sessions
from fastapi import FastAPI

from testsupport.api import Api

from .conftest import AGENT, CUSTOMER, participant


async def stored_counts(app: FastAPI) -> tuple[int, int]:
    ctx: AppContext = app.state.ctx
    async with ctx.db.read() as conn:
        n_sessions = (await conn.execute(sa.select(sa.func.count()).select_from(sessions))).scalar()
        n_events = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar()
    return int(n_sessions or 0), int(n_events or 0)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:callpad:problem:{code}"
    assert body["title"] and body["detail"]
    return body


START = "/vendors/acme/sessions"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"target": {"type": "vendor_user", "user_id": 42}', 400, "malformed_json"),
        (b'{"target": {"type": "vendor_user", "user_id": "forty-two"}}', 422, "validation_failed"),
        (b'{"target": {"type": "carrier_pigeon", "user_id": 42}}', 422, "validation_failed"),
        (
            b'{"target": {"type": "vendor_user", "user_id": 42}, "extra": 1}',
            422,
            "validation_failed",
        ),
        (
            b'{"target": {"type": "vendor_user", "user_id": 42}, "name": 5}',
            422,
            "validation_failed",
        ),
        (b"[]", 422, "validation_failed"),
        (b'{"target": {"type": "vendor_user", "user_id": 99}}', 422, "invalid_target"),
        (b'{"target": {"type": "vendor_user", "user_id": 7}}', 422, "invalid_target"),
        (b'{"target": {"type": "customer", "user_id": 8}}', 403, "target_not_allowed"),
    ],
)
async def test_a_bad_start_changes_nothing(
    api: Api, app: FastAPI, acme: Any, content: bytes, status: int, code: str
) -> None:
    before = await stored_counts(app)
    response = await api.post(
        CUSTOMER, START, content=content, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, status, code)
    if code == "validation_failed":
        assert body["errors"]
    assert await stored_counts(app) == before


@pytest.mark.parametrize(
    "phone", ["+1", "555-1234", "+1 202 555 0100", "12025550100", "+1202555x100"]
)
async def test_an_invalid_phone_from_a_host_changes_nothing(
    api: Api, app: FastAPI, acme: Any, phone: str
) -> None:
    before = await stored_counts(app)
    response = await api.post(AGENT, START, json={"target": {"type": "phone", "phone": phone}})
    assert_problem(response, 422, "invalid_phone")
    assert await stored_counts(app) == before


async def test_a_body_over_the_limit_is_refused(api: Api, app: FastAPI, acme: Any) -> None:
    before = await stored_counts(app)
    huge = {"target": {"type": "vendor_user", "user_id": AGENT}, "name": "x" * 70_000}
    assert_problem(await api.post(CUSTOMER, START, json=huge), 413, "body_too_large")

    async def chunks() -> Any:
        for _ in range(70):
            yield b" " * 1024

    streamed = await api.post(
        CUSTOMER, START, content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413, "body_too_large")
    assert await stored_counts(app) == before


async def test_unknown_vendor_route_and_method(api: Api) -> None:
    target = {"target": {"type": "vendor_user", "user_id": AGENT}}
    assert_problem(
        await api.post(CUSTOMER, "/vendors/nope/sessions", json=target), 404, "vendor_not_found"
    )
    assert_problem(await api.get(CUSTOMER, "/no/such/route"), 404, "not_found")
    assert_problem(await api.put(CUSTOMER, "/me/sessions"), 405, "method_not_allowed")


async def test_an_action_on_an_ended_session_is_a_conflict(
    api: Api, app: FastAPI, acme: Any
) -> None:
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    session = started.json()["session"]
    sid = session["id"]
    agent_pid = participant(session, AGENT)["id"]
    await api.post(CUSTOMER, f"{START}/{sid}/cancel")
    before = await stored_counts(app)
    late = await api.post(AGENT, f"{START}/{sid}/participants/{agent_pid}/accept")
    body = assert_problem(late, 409, "session_ended")
    assert body["capability"] == "accept_invite"
    assert_problem(await api.post(CUSTOMER, f"{START}/{sid}/leave"), 409, "session_ended")
    assert await stored_counts(app) == before


async def test_a_missing_capability_is_a_403_naming_it(api: Api, acme: Any) -> None:
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": AGENT}}
    )
    sid = started.json()["session"]["id"]
    body = assert_problem(
        await api.post(CUSTOMER, f"{START}/{sid}/hold"), 403, "capability_missing"
    )
    assert body["capability"] == "hold_session"


async def test_unknown_participant_and_recording(api: Api, acme: Any) -> None:
    started = await api.post(
        AGENT, START, json={"target": {"type": "customer", "user_id": CUSTOMER}}
    )
    sid = started.json()["session"]["id"]
    response = await api.post(AGENT, f"{START}/{sid}/participants/par_nope/accept")
    assert_problem(response, 404, "participant_not_found")
    customer_pid = participant(started.json()["session"], CUSTOMER)["id"]
    response = await api.post(AGENT, f"{START}/{sid}/participants/{customer_pid}/accept")
    assert_problem(response, 403, "forbidden")
