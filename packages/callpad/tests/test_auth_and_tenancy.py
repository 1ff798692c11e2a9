"""Tokens are checked on every request; another vendor's session does not exist for you."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from callpad.config import Settings
from fastapi import FastAPI

from testsupport.api import Api

CUSTOMER, AGENT, ACME_OWNER, GLOBEX_AGENT, STRANGER = 7, 42, 1, 50, 99


@pytest.fixture
async def call(api: Api) -> dict[str, Any]:
    await api.create_vendor("acme", {ACME_OWNER: "owner", AGENT: "agent"})
    await api.create_vendor("globex", {GLOBEX_AGENT: "owner"})
    started = await api.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    session: dict[str, Any] = started.json()["session"]
    return session


def token(settings: Settings, claims: dict[str, Any], secret: str | None = None) -> str:
    return jwt.encode(claims, secret or settings.auth_secret or "", algorithm="HS256")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda s: None,
        lambda s: "Basic abc",
        lambda s: "Bearer not-a-jwt",
        lambda s: "Bearer " + token(s, {"sub": "7", "exp": time.time() + 60}, "wrong-secret-" * 3),
        lambda s: "Bearer " + token(s, {"sub": "7"}),
        lambda s: "Bearer " + token(s, {"sub": "alice", "exp": time.time() + 60}),
        lambda s: (
            "Bearer " + jwt.encode({"sub": "7", "exp": time.time() + 60}, "", algorithm="none")
        ),
    ],
    ids=["missing", "not-bearer", "malformed", "forged", "no-exp", "non-numeric-sub", "alg-none"],
)
async def test_bad_tokens_are_401(api: Api, settings: Settings, make_header: Any) -> None:
    header = make_header(settings)
    headers = {"Authorization": header} if header else {}
    response = await api.client.get("/api/v1/me/sessions", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_is_401_token_expired(api: Api, settings: Settings) -> None:
    expired = token(settings, {"sub": "7", "exp": time.time() - 5})
    response = await api.client.get(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {expired}"}
    )
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


async def test_user_tokens_cannot_administer_and_admin_key_cannot_act_as_user(api: Api) -> None:
    response = await api.post(CUSTOMER, "/admin/vendors", json={"slug": "evil", "name": "Evil"})
    assert response.status_code == 401
    response = await api.get(None, "/me/sessions")
    assert response.status_code == 401


async def test_participants_and_vendor_admins_see_the_session(api: Api, call: Any) -> None:
    path = f"/vendors/acme/sessions/{call['id']}"
    for user in (CUSTOMER, AGENT, ACME_OWNER):
        response = await api.get(user, path)
        assert response.status_code == 200, (user, response.text)
    owner_list = (await api.get(ACME_OWNER, "/vendors/acme/sessions")).json()["sessions"]
    assert [s["id"] for s in owner_list] == [call["id"]]


async def test_nobody_else_learns_the_session_exists(api: Api, call: Any) -> None:
    sid = call["id"]
    for user, path in [
        (STRANGER, f"/vendors/acme/sessions/{sid}"),
        (GLOBEX_AGENT, f"/vendors/acme/sessions/{sid}"),
        (GLOBEX_AGENT, f"/vendors/globex/sessions/{sid}"),
        (AGENT, f"/vendors/globex/sessions/{sid}"),
        (CUSTOMER, "/vendors/acme/sessions/ses_doesnotexist"),
    ]:
        response = await api.get(user, path)
        assert (response.status_code, response.json()["code"]) == (404, "session_not_found"), (
            user,
            path,
        )
        acting = await api.post(user, path + "/end")
        assert acting.status_code == 404, (user, path, acting.text)
    assert (await api.get(GLOBEX_AGENT, "/vendors/acme/sessions")).json()["sessions"] == []
    assert (await api.get(STRANGER, "/me/sessions")).json()["sessions"] == []
    assert (await api.get(STRANGER, "/me/invites")).json()["invites"] == []


async def test_only_managers_manage_contacts_and_teams(api: Api, call: Any) -> None:
    contact = {"name": "Ann", "phone": "+12025550100"}
    assert (await api.post(AGENT, "/vendors/acme/contacts", json=contact)).status_code == 403
    assert (await api.post(GLOBEX_AGENT, "/vendors/acme/contacts", json=contact)).status_code == 403
    created = await api.post(ACME_OWNER, "/vendors/acme/contacts", json=contact)
    assert created.status_code == 201, created.text
    listed = (await api.get(AGENT, "/vendors/acme/contacts")).json()["contacts"]
    assert [c["name"] for c in listed] == ["Ann"]
    team = {"members": [AGENT]}
    assert (await api.put(AGENT, "/vendors/acme/teams/support", json=team)).status_code == 403
    put = await api.put(ACME_OWNER, "/vendors/acme/teams/support", json=team)
    assert (put.status_code, put.json()["members"]) == (200, [AGENT])
    assert (await api.get(AGENT, "/vendors/acme/teams/support")).json() == put.json()
    assert (await api.get(GLOBEX_AGENT, "/vendors/acme/teams/support")).status_code == 403
    assert (await api.delete(AGENT, "/vendors/acme/teams/support")).status_code == 403
    strangers = await api.put(
        ACME_OWNER, "/vendors/acme/teams/support", json={"members": [STRANGER]}
    )
    assert (strangers.status_code, strangers.json()["code"]) == (422, "invalid_target")


async def test_host_calls_a_contact_by_phone(api: Api, call: Any) -> None:
    created = await api.post(
        ACME_OWNER, "/vendors/acme/contacts", json={"name": "Ann", "phone": "+12025550100"}
    )
    contact_id = created.json()["id"]
    started = await api.post(
        AGENT,
        "/vendors/acme/sessions",
        json={"target": {"type": "contact", "contact_id": contact_id}},
    )
    assert started.status_code == 201, started.text
    leg = next(p for p in started.json()["session"]["participants"] if p["kind"] == "phone")
    assert (leg["phone"], leg["contact_id"]) == ("+12025550100", contact_id)
    other = await api.post(
        AGENT, "/vendors/acme/sessions", json={"target": {"type": "contact", "contact_id": "con_x"}}
    )
    assert (other.status_code, other.json()["code"]) == (404, "contact_not_found")


async def test_presence_is_for_members(api: Api, call: Any) -> None:
    ok = await api.put(AGENT, "/vendors/acme/presence/me", json={"status": "available"})
    assert ok.status_code == 200 and ok.json()["status"] == "available"
    assert (
        await api.put(STRANGER, "/vendors/acme/presence/me", json={"status": "away"})
    ).status_code == 403
    bad = await api.put(AGENT, "/vendors/acme/presence/me", json={"status": "asleep"})
    assert bad.status_code == 422


async def test_a_verified_token_is_refused_once_it_expires(
    api: Api, app: FastAPI, settings: Settings
) -> None:
    """Verified tokens are remembered, but never past their `exp` (on the server's clock)."""
    verifier = app.state.ctx.verifier
    now = [time.time()]
    verifier.clock = lambda: now[0]
    short = token(settings, {"sub": "7", "exp": int(now[0]) + 60})
    headers = {"Authorization": f"Bearer {short}"}
    assert (await api.client.get("/api/v1/me/sessions", headers=headers)).status_code == 200
    now[0] += 59  # still valid, and answered from the verified-token cache
    assert (await api.client.get("/api/v1/me/sessions", headers=headers)).status_code == 200
    now[0] += 2
    expired = await api.client.get("/api/v1/me/sessions", headers=headers)
    assert (expired.status_code, expired.json()["code"]) == (401, "token_expired")
    forged = short[:-4] + ("AAAA" if not short.endswith("AAAA") else "BBBB")
    refused = await api.client.get(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {forged}"}
    )
    assert refused.status_code == 401
