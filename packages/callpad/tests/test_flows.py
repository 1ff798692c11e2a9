"""The session flows users run (docs/api.md), through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import jwt

from testsupport.api import Api, eventually

from .conftest import AGENT, CUSTOMER, participant

PHONE_ANSWERS, PHONE_NEVER_ANSWERS = "+12025550100", "+12025550104"


async def call_agent(api: Api) -> dict[str, Any]:
    started = await api.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}, "name": "Billing question"},
    )
    assert started.status_code == 201, started.text
    body: dict[str, Any] = started.json()
    return body


async def test_customer_calls_agent_who_answers_and_hosts_the_call(api: Api, acme: Any) -> None:
    sid = await ring_and_answer(api)
    await dial_a_phone_and_record(api, sid)
    await hold_unhold_and_end(api, sid)


async def ring_and_answer(api: Api) -> str:
    """The customer's call rings the agent (an invite, a grant for the caller); the agent
    answers and hosts it. Returns the session id."""
    started = await call_agent(api)
    session = started["session"]
    assert session["state"] == "ringing"
    assert session["route"]["direction"] == "inbound"
    assert participant(session, CUSTOMER)["state"] == "accepted"
    assert participant(session, CUSTOMER)["capabilities"] == ["cancel_session"]
    agent = participant(session, AGENT)
    assert agent["state"] == "invited"
    assert agent["capabilities"] == ["accept_invite", "reject_invite"]
    grant = started["join"]
    claims = jwt.decode(grant["token"], options={"verify_signature": False})
    assert claims["sub"] == participant(session, CUSTOMER)["id"]
    assert claims["video"]["room"] == session["room"] == grant["room"]

    invites = (await api.get(AGENT, "/vendors/acme/invites")).json()["invites"]
    assert [i["session_id"] for i in invites] == [session["id"]]
    assert invites[0]["inviter"]["user_id"] == CUSTOMER
    sid, pid = session["id"], agent["id"]

    accepted = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/participants/{pid}/accept")
    assert accepted.status_code == 200, accepted.text
    session = accepted.json()["session"]
    assert session["state"] == "active" and session["answered_at"]
    assert session["version"] == 2
    assert participant(session, AGENT)["role"] == "host"
    assert accepted.json()["join"]["participant_id"] == pid
    assert (await api.get(AGENT, "/vendors/acme/invites")).json()["invites"] == []
    return str(sid)


async def dial_a_phone_and_record(api: Api, sid: str) -> None:
    """The host adds a phone leg that answers, then records and stops recording."""
    added = await api.post(
        AGENT,
        f"/vendors/acme/sessions/{sid}/participants",
        json={"target": {"type": "phone", "phone": PHONE_ANSWERS}},
    )
    assert added.status_code == 200, added.text
    phone = next(p for p in added.json()["participants"] if p["kind"] == "phone")
    assert phone["state"] == "invited"
    assert phone["operations"][0]["state"] == "dialing"

    async def phone_answered() -> dict[str, Any] | None:
        view = (await api.get(AGENT, f"/vendors/acme/sessions/{sid}")).json()
        leg = next(p for p in view["participants"] if p["kind"] == "phone")
        return view if leg["state"] == "accepted" else None

    session = await eventually(phone_answered)
    leg = next(p for p in session["participants"] if p["kind"] == "phone")
    assert leg["operations"] == [
        {"kind": "sip_leg", "state": "answered", "phone": PHONE_ANSWERS, "error": None}
    ]

    recording = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/recordings")
    assert recording.status_code == 201, recording.text
    rec = recording.json()["recordings"][0]
    assert rec["state"] == "starting"

    async def recording_active() -> bool:
        view = (await api.get(AGENT, f"/vendors/acme/sessions/{sid}")).json()
        return bool(view["recordings"][0]["state"] == "active")

    await eventually(recording_active)
    stopped = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/recordings/{rec['id']}/stop")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["recordings"][0]["state"] == "stopped"


async def hold_unhold_and_end(api: Api, sid: str) -> None:
    """Hold silences the customer's grant; unhold; the host ends the call for everyone."""
    held = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/hold")
    assert held.json()["state"] == "on_hold"
    customer_grant = (await api.post(CUSTOMER, f"/vendors/acme/sessions/{sid}/join")).json()
    claims = jwt.decode(customer_grant["token"], options={"verify_signature": False})
    assert claims["video"]["canPublish"] is False  # the held party may not speak
    unheld = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/unhold")
    assert unheld.json()["state"] == "active"

    ended = await api.post(AGENT, f"/vendors/acme/sessions/{sid}/end")
    assert ended.status_code == 200, ended.text
    final = ended.json()
    assert final["state"] == "ended" and final["end_reason"] == "ended_by_host"
    assert {p["state"] for p in final["participants"]} == {"left"}
    assert all(p["capabilities"] == [] for p in final["participants"])
    assert (await api.get(CUSTOMER, "/me/sessions")).json()["sessions"] == []


async def test_caller_cancels_while_ringing(api: Api, acme: Any) -> None:
    session = (await call_agent(api))["session"]
    cancelled = await api.post(CUSTOMER, f"/vendors/acme/sessions/{session['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["end_reason"] == "cancelled"
    agent = participant(view, AGENT)
    assert (agent["state"], agent["state_reason"]) == ("withdrawn", "cancelled")
    assert (await api.get(AGENT, "/vendors/acme/invites")).json()["invites"] == []


async def test_agent_rejects_and_the_call_is_missed(api: Api, acme: Any) -> None:
    session = (await call_agent(api))["session"]
    pid = participant(session, AGENT)["id"]
    rejected = await api.post(
        AGENT, f"/vendors/acme/sessions/{session['id']}/participants/{pid}/reject"
    )
    assert rejected.status_code == 200, rejected.text
    view = rejected.json()
    assert (view["state"], view["end_reason"]) == ("ended", "missed")
    assert participant(view, AGENT)["state"] == "declined"


async def test_unanswered_invite_expires_at_the_ring_timeout(api: Api) -> None:
    await api.create_vendor("quick", {AGENT: "agent"}, ring_timeout_s=0.2)
    started = await api.post(
        CUSTOMER,
        "/vendors/quick/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    sid = started.json()["session"]["id"]

    async def ended() -> dict[str, Any] | None:
        view = (await api.get(CUSTOMER, f"/vendors/quick/sessions/{sid}")).json()
        return view if view["state"] == "ended" else None

    view = await eventually(ended)
    assert view["end_reason"] == "missed"
    agent = participant(view, AGENT)
    assert (agent["state"], agent["state_reason"]) == ("withdrawn", "timeout")


async def test_a_leave_that_leaves_one_party_ends_the_call(api: Api, acme: Any) -> None:
    session = (await call_agent(api))["session"]
    pid = participant(session, AGENT)["id"]
    await api.post(AGENT, f"/vendors/acme/sessions/{session['id']}/participants/{pid}/accept")
    left = await api.post(CUSTOMER, f"/vendors/acme/sessions/{session['id']}/leave")
    assert left.status_code == 200, left.text
    view = left.json()
    assert (view["state"], view["end_reason"]) == ("ended", "completed")
    assert participant(view, CUSTOMER)["state_reason"] == "hung_up"


async def test_host_dials_a_number_that_never_answers(api: Api) -> None:
    await api.create_vendor("dial", {AGENT: "agent"}, ring_timeout_s=0.3)
    started = await api.post(
        AGENT,
        "/vendors/dial/sessions",
        json={"target": {"type": "phone", "phone": PHONE_NEVER_ANSWERS}},
    )
    assert started.status_code == 201, started.text
    sid = started.json()["session"]["id"]
    assert started.json()["session"]["route"]["direction"] == "outbound"

    async def ended() -> dict[str, Any] | None:
        view = (await api.get(AGENT, f"/vendors/dial/sessions/{sid}")).json()
        return view if view["state"] == "ended" else None

    view = await eventually(ended)
    leg = next(p for p in view["participants"] if p["kind"] == "phone")
    assert (leg["state"], leg["state_reason"]) == ("withdrawn", "timeout")
    assert view["end_reason"] == "missed"
