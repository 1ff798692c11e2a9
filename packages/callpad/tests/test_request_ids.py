"""Every response names its request (`X-Request-Id`); every problem carries the same id,
and the server logs it, so a user's report can be matched to the server's log."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from testsupport.api import Api

AGENT = 42


async def test_a_success_and_each_kind_of_problem_carry_the_request_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.create_vendor("acme", {AGENT: "agent"})
    ok = await api.get(AGENT, "/vendors/acme/sessions")
    assert ok.status_code == 200
    assert ok.headers["x-request-id"].startswith("req_")

    caplog.set_level(logging.INFO, logger="callpad.requests")
    problems = [
        await api.get(AGENT, "/vendors/acme/sessions/ses_missing"),  # a service's 404
        await api.get(AGENT, "/no/such/route"),  # routing's 404
        await api.post(AGENT, "/vendors/acme/sessions", json={"target": {}}),  # validation
        await api.get(None, "/me/sessions"),  # the admin key is no user token: 401
        await api.post(AGENT, "/vendors/acme/sessions", content=b"x" * 2_000_000),  # 413
    ]
    ids = set()
    for response in problems:
        assert response.status_code >= 400
        request_id = response.headers["x-request-id"]
        assert response.json()["request_id"] == request_id
        ids.add(request_id)
        assert any(request_id in record.getMessage() for record in caplog.records), request_id
    assert len(ids) == len(problems), "each request has its own id"


async def test_a_callers_request_id_is_kept_and_a_malformed_one_replaced(api: Api) -> None:
    kept = await api.get(AGENT, "/vendors/nope/sessions", headers={"X-Request-Id": "lb-7f3a.1"})
    assert kept.headers["x-request-id"] == "lb-7f3a.1"
    assert kept.json()["request_id"] == "lb-7f3a.1"
    bad = await api.get(AGENT, "/vendors/nope/sessions", headers={"X-Request-Id": "a b\tc"})
    assert bad.headers["x-request-id"].startswith("req_")


async def test_an_unexpected_error_answers_a_500_problem_with_the_id_and_logs_it(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://callpad") as client:
        response = await client.get("/broken")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["request_id"] == request_id
    assert response.json()["code"] == "internal_error"
    logged = [r for r in caplog.records if r.exc_info and request_id in r.getMessage()]
    assert logged, "the traceback is logged with the request id"
