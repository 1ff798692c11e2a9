"""Requests the SDK sends and how it turns answers into results or CallpadError."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import farvex._http
import httpx
import pytest
from callpad.domain import Direction, Invitee, ParticipantKind, Role
from callpad.domain import transitions as t
from callpad.sessions.schemas import InviteView, SessionView
from farvex import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    Auth,
    AuthenticationError,
    BadRequestError,
    CallpadError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    HostClient,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PhoneTarget,
    PreconditionFailedError,
    RateLimitError,
    VendorUserTarget,
    create_host_client,
    create_session_client,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def domain_session() -> Any:
    return t.start_session(
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


def session_json() -> dict[str, Any]:
    return SessionView.of(domain_session()).model_dump(mode="json")


def invite_json(created_at: datetime, expires_at: datetime) -> dict[str, Any]:
    """The agent's invite into `domain_session()`, created and expiring as given."""
    session = domain_session()
    view = InviteView.of(session, session.participant("par_1")).model_dump(mode="json")
    return view | {
        "id": "inv_1",
        "created_at": created_at.isoformat(),
        "expires_at": expires_at.isoformat(),
    }


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"urn:callpad:problem:{code}", "title": "T", "status": status}
    body |= {"detail": f"{code} detail", "code": code, "request_id": "req_1", **extra}
    headers = {"content-type": "application/problem+json", "x-request-id": "req_1"}
    return httpx.Response(status, json=body, headers=headers)


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT: the SDK reads claims, only the server verifies."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.sig"


def host(answer: Any, **options: Any) -> HostClient:
    return create_host_client(
        api_url="http://callpad.test",
        vendor="acme",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
        **options,
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry delays the SDK waited, instead of waiting them."""
    waited: list[float] = []

    async def sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(farvex._http, "_sleep", sleep)
    return waited


async def test_the_token_is_cached_until_shortly_before_it_expires_and_401_drops_it() -> None:
    fetched: list[str] = []
    unauthorized: list[bool] = []
    now = int(time.time())

    async def get_token() -> str:
        fetched.append("token")
        return jwt({"sub": "7", "iat": now, "exp": now + 3600})

    async def on_unauthorized() -> None:
        unauthorized.append(True)

    answers = iter([httpx.Response(201, json={"session": session_json(), "join": None})] * 2)

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, problem(401, "token_expired"))

    client = create_session_client(
        api_url="http://callpad.test/api/v1/",
        user_id=7,
        auth=Auth(get_access_token=get_token, on_unauthorized=on_unauthorized),
        transport=httpx.MockTransport(answer),
    )
    for _ in range(2):
        started = await client.sessions.start(vendor="acme", target=VendorUserTarget(user_id=42))
        assert started.session.id == "ses_1" and started.join is None
    assert fetched == ["token"], "one fetch for two requests"
    with pytest.raises(AuthenticationError) as raised:
        await client.sessions.cancel("ses_1")
    assert (raised.value.status, raised.value.code) == (401, "token_expired")
    assert unauthorized == [True]
    with pytest.raises(AuthenticationError):
        await client.sessions.cancel("ses_1")
    assert fetched == ["token"] * 2, "a 401 drops the cached token"
    await client.dispose()


async def test_a_token_without_an_expiry_is_fetched_for_every_request_off_the_loop() -> None:
    threads: list[int] = []

    def get_token() -> str:  # a sync callback may block: it runs in a worker thread
        threads.append(threading.get_ident())
        return "opaque"

    client = create_session_client(
        api_url="http://callpad.test",
        user_id=7,
        auth=Auth(get_access_token=get_token),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=session_json())),
    )
    await client.sessions.retrieve("ses_1", vendor="acme")
    await client.sessions.retrieve("ses_1", vendor="acme")
    assert len(threads) == 2
    assert threading.get_ident() not in threads
    await client.dispose()


async def test_a_token_for_another_user_fails_loudly() -> None:
    client = create_session_client(
        api_url="http://callpad.test",
        user_id=7,
        auth=Auth(get_access_token=lambda: jwt({"sub": "42", "exp": time.time() + 60})),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=session_json())),
    )
    with pytest.raises(ConfigurationError, match=r"user 42.*user_id=7"):
        await client.sessions.retrieve("ses_1", vendor="acme")
    await client.dispose()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
async def test_each_status_raises_its_error_with_the_request_id(
    status: int, expected: type[APIStatusError], sleeps: list[float]
) -> None:
    client = host(lambda r: problem(status, "some_code"), max_retries=0)
    with pytest.raises(expected) as raised:
        await client.sessions.end("ses_1")
    error = raised.value
    assert isinstance(error, APIStatusError) and isinstance(error, CallpadError)
    assert (error.status, error.code, error.request_id) == (status, "some_code", "req_1")
    assert "req_1" in str(error)
    await client.dispose()


async def test_problems_carry_status_code_title_detail_and_the_document() -> None:
    client = host(lambda r: problem(403, "capability_missing", capability="end_session"))
    with pytest.raises(PermissionDeniedError) as raised:
        await client.sessions.end("ses_1")
    error = raised.value
    assert (error.status, error.code, error.title) == (403, "capability_missing", "T")
    assert error.detail == "capability_missing detail"
    assert error.capability == "end_session"
    assert error.problem["type"] == "urn:callpad:problem:capability_missing"
    assert str(error) == "403 capability_missing: capability_missing detail (request_id req_1)"
    await client.dispose()


async def test_an_answer_that_is_not_a_problem_still_raises_by_status(sleeps: list[float]) -> None:
    client = host(lambda r: httpx.Response(502, text="<html>bad gateway"))
    with pytest.raises(InternalServerError) as raised:
        await client.sessions.hold("ses_1")
    assert (raised.value.status, raised.value.code) == (502, "http_error")
    await client.dispose()


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
)
async def test_transport_failures_are_connection_errors_after_the_retries(
    failure: Exception, expected: type[CallpadError], sleeps: list[float]
) -> None:
    attempts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(request.headers["idempotency-key"])
        raise failure

    client = host(answer)
    with pytest.raises(expected) as raised:
        await client.sessions.unhold("ses_1")
    assert isinstance(raised.value, APIConnectionError)
    assert raised.value.status is None and raised.value.request_id is None
    assert "callpad.test" in str(raised.value)
    assert len(attempts) == 3, "two retries by default"
    assert len(set(attempts)) == 1, "every attempt carries the same Idempotency-Key"
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0, "backoff with jitter"
    await client.dispose()


async def test_a_retried_post_succeeds_and_a_conflict_is_never_retried(
    sleeps: list[float],
) -> None:
    answers = [
        httpx.Response(503),
        problem(429, "slow_down"),
        httpx.Response(200, json=session_json()),
    ]
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/end"):
            return problem(409, "session_ended")
        return answers.pop(0)

    client = host(answer)
    session = await client.sessions.hold("ses_1", idempotency_key="mine")
    assert session.id == "ses_1"
    assert [r.headers["idempotency-key"] for r in seen] == ["mine"] * 3, "the caller's key wins"
    assert len(sleeps) == 2
    seen.clear()
    with pytest.raises(ConflictError):
        await client.sessions.end("ses_1")
    assert len(seen) == 1
    await client.dispose()


async def test_retry_after_is_honoured(sleeps: list[float]) -> None:
    answers = [
        httpx.Response(429, headers={"retry-after": "3"}),
        httpx.Response(200, json=session_json()),
    ]
    client = host(lambda r: answers.pop(0))
    await client.sessions.hold("ses_1")
    assert sleeps == [3.0]
    await client.dispose()


async def test_max_retries_per_client_per_call_and_with_options(sleeps: list[float]) -> None:
    attempts: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(503)

    client = host(answer, max_retries=1, timeout=7.0)

    async def count(call: Any) -> int:
        attempts.clear()
        with pytest.raises(InternalServerError):
            await call
        return len(attempts)

    assert await count(client.sessions.hold("ses_1")) == 2
    assert await count(client.sessions.hold("ses_1", max_retries=4)) == 5
    assert await count(client.with_options(max_retries=0).sessions.hold("ses_1")) == 1
    assert attempts[0].extensions["timeout"]["read"] == 7.0
    await count(client.sessions.hold("ses_1", timeout=2.5, max_retries=0))
    assert attempts[0].extensions["timeout"]["read"] == 2.5
    await count(client.with_options(timeout=1.5).sessions.hold("ses_1", max_retries=0))
    assert attempts[0].extensions["timeout"]["read"] == 1.5
    await client.dispose()


async def test_every_mutation_sends_if_match_and_every_change_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/accept"):
            return httpx.Response(200, json={"session": session_json(), "join": None})
        return httpx.Response(200, json=session_json())

    client = host(answer)
    s = client.sessions
    await s.accept("ses_1", participant_id="par_1", if_match=3)
    await s.reject("ses_1", participant_id="par_1", if_match=3)
    await s.leave("ses_1", if_match=3)
    await s.cancel("ses_1", if_match=3)
    await s.rename("ses_1", name="n", if_match=3)
    await s.hold("ses_1", if_match=3)
    await s.unhold("ses_1", if_match=3)
    await s.end("ses_1", if_match=3)
    await s.add_participant("ses_1", target=PhoneTarget(phone="+12025550100"), if_match=3)
    await s.remove_participant("ses_1", participant_id="par_1", if_match=3)
    await s.start_recording("ses_1", if_match=3)
    await s.stop_recording("ses_1", recording_id="rec_1", if_match=3)
    assert len(seen) == 12
    for request in seen:
        assert request.headers["if-match"] == '"3"', request.url
        assert request.headers["idempotency-key"].startswith("farvex-"), request.url
    assert len({r.headers["idempotency-key"] for r in seen}) == 12
    await client.dispose()


async def test_targets_as_models_and_as_dicts_send_the_same_body() -> None:
    bodies: list[Any] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.url.path == "/api/v1/vendors/acme/sessions/ses_1/participants"
        return httpx.Response(200, json=session_json())

    client = host(answer)
    await client.sessions.add_participant("ses_1", target=PhoneTarget(phone="+12025550100"))
    await client.sessions.add_participant(
        "ses_1", target={"type": "phone", "phone": "+12025550100"}
    )
    assert bodies == [{"target": {"type": "phone", "phone": "+12025550100"}}] * 2
    fax: Any = {"type": "fax", "number": "1"}  # what an untyped caller could send
    with pytest.raises(InvalidRequestError, match="target") as raised:
        await client.sessions.add_participant("ses_1", target=fax)
    assert "_TargetBox" not in str(raised.value)
    assert len(bodies) == 2, "nothing was sent"
    await client.dispose()
    with pytest.raises(ClientClosedError):
        await client.sessions.end("ses_1")
    with pytest.raises(ClientClosedError):
        await client.sessions.start(target=PhoneTarget(phone="+12025550100"))


async def test_leaving_a_session_the_store_does_not_know_syncs_once_then_is_not_found() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/v1/me/invites":
            return httpx.Response(200, json={"invites": []})
        return httpx.Response(200, json={"sessions": []})

    client = create_session_client(
        api_url="http://callpad.test",
        user_id=7,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
    )
    with pytest.raises(NotFoundError) as raised:
        await client.sessions.leave("ses_unknown")
    assert (raised.value.status, raised.value.code) == (404, "session_not_found")
    assert paths == ["/api/v1/me/sessions", "/api/v1/me/invites"], "one re-sync"
    await client.dispose()


async def test_invites_expire_by_the_servers_clock_when_this_clock_is_fast() -> None:
    """By a clock 25 s fast, a 20 s ring has expired before it arrives: the `Date` header
    of the server's answers corrects the clock the store expires invites by."""
    server_now = datetime.now(UTC) - timedelta(seconds=25)
    invite = invite_json(created_at=server_now, expires_at=server_now + timedelta(seconds=20))

    def answer(request: httpx.Request) -> httpx.Response:
        date = format_datetime(server_now, usegmt=True)
        if request.url.path == "/api/v1/me/invites":
            return httpx.Response(200, json={"invites": [invite]}, headers={"date": date})
        return httpx.Response(200, json={"sessions": []}, headers={"date": date})

    client = create_session_client(
        api_url="http://callpad.test",
        user_id=42,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(answer),
    )
    await client.sessions.sync()
    assert [i.id for i in client.invites.list()] == ["inv_1"]
    assert 24 <= -client._api.clock_offset.total_seconds() <= 26
    await asyncio.sleep(0.05)
    assert client.invites.get("inv_1") is not None, "not expired by the fast local clock"
    await client.dispose()
