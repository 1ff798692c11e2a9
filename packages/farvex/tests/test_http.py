"""Requests the SDK sends and how it turns answers into results or CallpadError."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from callpad.domain import Direction, Invitee, ParticipantKind, Role
from callpad.domain import transitions as t
from callpad.sessions.schemas import SessionView
from farvex import (
    Auth,
    CallpadClientClosedError,
    CallpadConnectionError,
    CallpadError,
    CallpadTimeoutError,
    PhoneTarget,
    VendorUserTarget,
    create_host_client,
    create_session_client,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def session_json() -> dict[str, Any]:
    s = t.start_session(
        session_id="ses_1",
        vendor="acme",
        name="",
        room="room",
        direction=Direction.INBOUND,
        target={"type": "vendor_user", "user_id": 42},
        initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=7),
        initiator_participant_id="par_0",
        invitees=[("par_1", Invitee(ParticipantKind.USER, Role.AGENT, user_id=42))],
        ring_timeout_s=30,
        now=NOW,
    )
    return SessionView.of(s).model_dump(mode="json")


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"urn:callpad:problem:{code}", "title": "T", "status": status}
    body |= {"detail": f"{code} detail", "code": code, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


async def test_the_token_is_fetched_before_every_request_and_401_calls_on_unauthorized() -> None:
    tokens = iter(["one", "two"])
    seen: list[str] = []
    unauthorized: list[bool] = []

    async def get_token() -> str:
        return next(tokens)

    async def on_unauthorized() -> None:
        unauthorized.append(True)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if len(seen) == 1:
            return httpx.Response(201, json={"session": session_json(), "join": None})
        return problem(401, "token_expired")

    client = create_session_client(
        api_url="http://callpad.test/api/v1/",
        user_id=7,
        auth=Auth(get_access_token=get_token, on_unauthorized=on_unauthorized),
        transport=httpx.MockTransport(answer),
    )
    started = await client.sessions.start(vendor="acme", target=VendorUserTarget(user_id=42))
    assert started.session.id == "ses_1" and started.join is None
    with pytest.raises(CallpadError) as raised:
        await client.sessions.cancel("ses_1")
    assert (raised.value.status, raised.value.code) == (401, "token_expired")
    assert seen == ["Bearer one", "Bearer two"]
    assert unauthorized == [True]
    await client.dispose()


async def test_problems_carry_status_code_title_detail_and_the_document() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return problem(403, "capability_missing", capability="end_session")

    host = create_host_client(
        api_url="http://callpad.test",
        vendor="acme",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(CallpadError) as raised:
        await host.host.end("ses_1")
    error = raised.value
    assert (error.status, error.code, error.title) == (403, "capability_missing", "T")
    assert error.detail == "capability_missing detail"
    assert error.capability == "end_session"
    assert error.problem["type"] == "urn:callpad:problem:capability_missing"
    assert str(error) == "403 capability_missing: capability_missing detail"
    await host.dispose()


async def test_an_answer_that_is_not_a_problem_still_raises_callpad_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(502, text="<html>bad gateway"))
    host = create_host_client(
        api_url="http://callpad.test",
        vendor="acme",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=transport,
    )
    with pytest.raises(CallpadError) as raised:
        await host.host.hold("ses_1")
    assert (raised.value.status, raised.value.code) == (502, "http_error")
    await host.dispose()


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("refused"), CallpadConnectionError),
        (httpx.ReadTimeout("slow"), CallpadTimeoutError),
    ],
)
async def test_transport_failures_are_connection_errors(
    failure: Exception, expected: type[CallpadError]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise failure

    host = create_host_client(
        api_url="http://callpad.test",
        vendor="acme",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(expected) as raised:
        await host.host.unhold("ses_1")
    assert isinstance(raised.value, CallpadConnectionError)
    assert raised.value.status is None
    await host.dispose()


async def test_targets_as_models_and_as_dicts_send_the_same_body() -> None:
    bodies: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.url.path == "/api/v1/vendors/acme/sessions/ses_1/participants"
        return httpx.Response(200, json=session_json())

    host = create_host_client(
        api_url="http://callpad.test",
        vendor="acme",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
    )
    await host.host.add_participant("ses_1", PhoneTarget(phone="+12025550100"))
    await host.host.add_participant("ses_1", {"type": "phone", "phone": "+12025550100"})
    assert bodies == [{"target": {"type": "phone", "phone": "+12025550100"}}] * 2
    with pytest.raises(ValueError, match="target"):
        await host.host.add_participant("ses_1", {"type": "fax", "number": "1"})  # type: ignore[arg-type]
    await host.dispose()
    with pytest.raises(CallpadClientClosedError):
        await host.host.end("ses_1")
