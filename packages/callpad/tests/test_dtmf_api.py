"""`POST .../participants/{pid}/dtmf`: who may key digits into a phone leg, and what bad
input gets (a problem). The digits reaching a real phone are tested
in tests/media/test_livekit_sip.py; offline media has no phone line, so nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from testsupport.api import Api, eventually

CUSTOMER, AGENT, OTHER = 7, 42, 99
PHONE_ANSWERS = "+12025550100"


async def answered_phone_call(api: Api) -> tuple[str, str]:
    await api.create_vendor("acme", {AGENT: "agent"})
    await api.create_vendor("globex", {OTHER: "owner"})
    started = await api.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    session = started.json()["session"]
    sid = session["id"]
    agent = next(p for p in session["participants"] if p["user_id"] == AGENT)
    accepted = await api.post(
        AGENT, f"/vendors/acme/sessions/{sid}/participants/{agent['id']}/accept"
    )
    assert accepted.status_code == 200, accepted.text
    added = await api.post(
        AGENT,
        f"/vendors/acme/sessions/{sid}/participants",
        json={"target": {"type": "phone", "phone": PHONE_ANSWERS}},
    )
    phone_id = next(p["id"] for p in added.json()["participants"] if p["kind"] == "phone")

    async def answered() -> bool:
        view = (await api.get(AGENT, f"/vendors/acme/sessions/{sid}")).json()
        leg = next(p for p in view["participants"] if p["id"] == phone_id)
        return bool(leg["state"] == "accepted")

    await eventually(answered)
    return sid, phone_id


async def test_the_agent_keys_digits_into_the_answered_phone_leg(api: Api) -> None:
    sid, phone_id = await answered_phone_call(api)
    path = f"/vendors/acme/sessions/{sid}"
    view = (await api.get(AGENT, path)).json()
    me = next(p for p in view["participants"] if p["user_id"] == AGENT)
    assert "send_dtmf" in me["capabilities"]
    before = view["version"]
    sent = await api.post(
        AGENT, f"{path}/participants/{phone_id}/dtmf", json={"digits": "1234#*AD"}
    )
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"participant_id": phone_id, "digits": "1234#*AD"}
    assert (await api.get(AGENT, path)).json()["version"] == before  # the session is as it was


@pytest.mark.parametrize(
    "body",
    [
        {"digits": ""},
        {"digits": "12x"},
        {"digits": "1 2"},
        {"digits": "abcd"},
        {"digits": "1" * 65},
        {"digits": 123},
        {},
        {"digits": "1", "duration_ms": 100},
    ],
    ids=["empty", "letter", "space", "lowercase", "too-long", "number", "missing", "unknown-field"],
)
async def test_bad_digits_are_a_problem_and_send_nothing(
    api: Api, app: FastAPI, body: dict[str, Any]
) -> None:
    sid, phone_id = await answered_phone_call(api)
    refused = await api.post(
        AGENT, f"/vendors/acme/sessions/{sid}/participants/{phone_id}/dtmf", json=body
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_who_may_not_and_to_whom_not(api: Api) -> None:
    sid, phone_id = await answered_phone_call(api)
    path = f"/vendors/acme/sessions/{sid}"
    view = (await api.get(AGENT, path)).json()
    agent_id = next(p["id"] for p in view["participants"] if p["user_id"] == AGENT)
    digits = {"digits": "1"}

    customer = await api.post(CUSTOMER, f"{path}/participants/{phone_id}/dtmf", json=digits)
    assert (customer.status_code, customer.json()["code"]) == (403, "capability_missing")
    # Another vendor's owner does not learn the session exists.
    stranger = await api.post(
        OTHER, f"/vendors/globex/sessions/{sid}/participants/{phone_id}/dtmf", json=digits
    )
    assert stranger.status_code == 404
    outsider = await api.post(OTHER, f"{path}/participants/{phone_id}/dtmf", json=digits)
    assert outsider.status_code == 404
    to_a_user = await api.post(AGENT, f"{path}/participants/{agent_id}/dtmf", json=digits)
    assert (to_a_user.status_code, to_a_user.json()["code"]) == (409, "invalid_state")
    nobody = await api.post(AGENT, f"{path}/participants/par_nobody/dtmf", json=digits)
    assert (nobody.status_code, nobody.json()["code"]) == (404, "participant_not_found")

    assert (await api.post(AGENT, f"{path}/hold")).status_code == 200
    held = await api.post(AGENT, f"{path}/participants/{phone_id}/dtmf", json=digits)
    assert held.status_code == 409, held.text
