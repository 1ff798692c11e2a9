"""Team calls over HTTP, on SQLite and PostgreSQL: every strategy and every outcome.

A customer calls the `support` team; the team's settings decide who is rung, in which
order, and what happens when nobody answers or nobody is available.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from callpad.context import AppContext
from callpad.db.tables import outbox
from callpad.realtime.outbox import stored_events
from fastapi import FastAPI

from testsupport.api import Api, eventually

CUSTOMER, OWNER = 7, 1
AGENTS = [42, 43, 44]
SUPPORT = "/vendors/acme/teams/support"


@pytest.fixture
async def acme(api: Api) -> None:
    await api.create_vendor("acme", {OWNER: "owner", **{a: "agent" for a in AGENTS}})


async def team(api: Api, members: list[int] | None = None, **settings: Any) -> dict[str, Any]:
    put = await api.put(OWNER, SUPPORT, json={"members": members or AGENTS, **settings})
    assert put.status_code == 200, put.text
    body: dict[str, Any] = put.json()
    return body


async def present(api: Api, *users: int, status: str = "available") -> None:
    for user in users:
        put = await api.put(user, "/vendors/acme/presence/me", json={"status": status})
        assert put.status_code == 200, put.text


async def call_team(api: Api, caller: int = CUSTOMER) -> dict[str, Any]:
    started = await api.post(
        caller, "/vendors/acme/sessions", json={"target": {"type": "team", "team": "support"}}
    )
    assert started.status_code == 201, started.text
    body: dict[str, Any] = started.json()
    return body


async def view(api: Api, sid: str, user: int = CUSTOMER) -> dict[str, Any]:
    got = await api.get(user, f"/vendors/acme/sessions/{sid}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def ringing(session: dict[str, Any]) -> list[int]:
    return [p["user_id"] for p in session["participants"] if p["state"] == "invited"]


def pid_of(session: dict[str, Any], user: int) -> str:
    return str(
        next(
            p["id"]
            for p in session["participants"]
            if p["user_id"] == user and p["state"] == "invited"
        )
    )


async def answer(api: Api, session: dict[str, Any], user: int) -> Any:
    sid = session["id"]
    return await api.post(
        user, f"/vendors/acme/sessions/{sid}/participants/{pid_of(session, user)}/accept"
    )


async def reject(api: Api, session: dict[str, Any], user: int) -> dict[str, Any]:
    sid = session["id"]
    got = await api.post(
        user, f"/vendors/acme/sessions/{sid}/participants/{pid_of(session, user)}/reject"
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def invites_of(api: Api, user: int) -> list[str]:
    got = (await api.get(user, "/vendors/acme/invites")).json()["invites"]
    return [i["session_id"] for i in got]


async def until(
    api: Api, sid: str, check: Any, within_s: float = 15, user: int = CUSTOMER
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        current = await view(api, sid, user)
        return current if check(current) else None

    found: dict[str, Any] = await eventually(reached, within_s=within_s)
    return found


async def events(app: FastAPI, topic: str) -> list[tuple[list[str], dict[str, Any]]]:
    ctx: AppContext = app.state.ctx
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.channels, outbox.c.data, outbox.c.fanned_out)
            .where(outbox.c.topic == topic)
            .order_by(outbox.c.id)
        )
        return [
            (event_channels, event_data)
            for channels, data, fanned_out in rows
            for _, event_channels, event_data in stored_events(topic, channels, data, fanned_out)
        ]


async def test_parallel_rings_every_available_agent_and_one_answer_withdraws_the_rest(
    api: Api, app: FastAPI, acme: None
) -> None:
    await team(api)
    await present(api, 42, 43, 44)
    started = await call_team(api)
    session = started["session"]
    assert started["join"] is not None
    assert session["route"]["team"] == "support"
    await assert_every_agent_rung(api, session)
    # Each agent's invite event is the invite the API lists for them, field for field.
    upserts = await events(app, "session.invite.upsert")
    for agent in AGENTS:
        listed = (await api.get(agent, "/vendors/acme/invites")).json()["invites"]
        assert [d for channels, d in upserts if channels == [f"agent:acme#{agent}"]] == listed
    answered = await answer(api, session, 43)
    assert answered.status_code == 200, answered.text
    await assert_43_won_and_the_rest_withdrawn(api, app, answered.json()["session"])
    late = await answer(api, session, 42)
    assert (late.status_code, late.json()["code"]) == (409, "invite_not_pending")


async def assert_every_agent_rung(api: Api, session: dict[str, Any]) -> None:
    """A parallel dispatch ringing all of AGENTS, each with an invite naming it."""
    (dispatch,) = session["dispatches"]
    assert (dispatch["state"], dispatch["strategy"], dispatch["team"]) == (
        "ringing",
        "parallel",
        "support",
    )
    assert sorted(ringing(session)) == AGENTS
    assert [a["user_id"] for a in dispatch["attempts"]] == AGENTS
    for agent in AGENTS:
        assert await invites_of(api, agent) == [session["id"]]
        invite = (await api.get(agent, "/vendors/acme/invites")).json()["invites"][0]
        assert invite["dispatch_id"] == dispatch["id"]


async def assert_43_won_and_the_rest_withdrawn(
    api: Api, app: FastAPI, final: dict[str, Any]
) -> None:
    """43's accept resolved the dispatch; 42 and 44 are withdrawn and told at once."""
    assert (final["state"], final["version"]) == ("active", 2)
    (dispatch,) = final["dispatches"]
    winner = next(p for p in final["participants"] if p["user_id"] == 43)
    assert (dispatch["state"], dispatch["reason"]) == ("resolved", "answered")
    assert dispatch["resolved_participant_id"] == winner["id"]
    siblings = [p for p in final["participants"] if p["user_id"] in (42, 44)]
    assert [(p["state"], p["state_reason"]) for p in siblings] == [
        ("withdrawn", "answered_elsewhere")
    ] * 2
    for agent in AGENTS:
        assert await invites_of(api, agent) == []
    # The siblings' apps are told at once, on their own channels.
    removed = [
        (channels, data)
        for channels, data in await events(app, "session.invite.remove")
        if data["state"] == "withdrawn"
    ]
    assert sorted(c for channels, _ in removed for c in channels) == [
        "agent:acme#42",
        "agent:acme#44",
    ]


async def test_sequential_in_order_moves_on_at_reject_and_ring_timeout(
    api: Api, acme: None
) -> None:
    # Long enough that 42's reject and 44's answer land within their rings on a loaded
    # machine (at 0.3 s, 44's ring once timed out before the answer arrived).
    await team(api, strategy="sequential", ring_timeout_s=1.5)
    await present(api, 42, 43, 44)
    session = (await call_team(api))["session"]
    assert ringing(session) == [42]
    session = await reject(api, session, 42)
    assert ringing(session) == [43]
    # 43 lets it ring out: the timer moves on to 44.
    session = await until(api, session["id"], lambda s: ringing(s) == [44])
    timed_out = session["dispatches"][0]["attempts"][1]
    assert (timed_out["user_id"], timed_out["state_reason"]) == (43, "timeout")
    answered = await answer(api, session, 44)
    assert answered.status_code == 200, answered.text
    dispatch = answered.json()["session"]["dispatches"][0]
    assert [(a["user_id"], a["state"]) for a in dispatch["attempts"]] == [
        (42, "declined"),
        (43, "withdrawn"),
        (44, "accepted"),
    ]


async def test_round_robin_starts_after_the_agent_rung_last(api: Api, acme: None) -> None:
    await team(api, strategy="sequential", ring_order="round_robin")
    await present(api, 42, 43, 44)
    first = (await call_team(api))["session"]
    second = (await call_team(api, caller=8))["session"]
    third = (await call_team(api, caller=9))["session"]
    assert [ringing(s) for s in (first, second, third)] == [[42], [43], [44]]


async def test_longest_idle_rings_the_agent_idle_the_longest(api: Api, acme: None) -> None:
    await team(api, [42, 43], strategy="sequential", ring_order="longest_idle")
    await present(api, 42, 43)
    # 42 takes a call and finishes it; 43 has not had one yet: 43 is idle the longest.
    session = (await call_team(api))["session"]
    assert ringing(session) == [42]
    answered = await answer(api, session, 42)
    left = await api.post(CUSTOMER, f"/vendors/acme/sessions/{session['id']}/leave")
    assert (answered.status_code, left.status_code) == (200, 200)
    assert ringing((await call_team(api))["session"]) == [43]


async def test_all_rejected_is_missed(api: Api, acme: None) -> None:
    await team(api, [42, 43])
    await present(api, 42, 43)
    session = (await call_team(api))["session"]
    session = await reject(api, session, 42)
    session = await reject(api, session, 43)
    assert (session["state"], session["end_reason"]) == ("ended", "missed")
    assert (session["dispatches"][0]["state"], session["dispatches"][0]["reason"]) == (
        "expired",
        "no_answer",
    )


async def test_dispatch_timeout_withdraws_the_rings_and_misses_the_call(
    api: Api, acme: None
) -> None:
    await team(api, dispatch_timeout_s=0.3, ring_timeout_s=30)
    await present(api, 42, 43)
    session = (await call_team(api))["session"]
    final = await until(api, session["id"], lambda s: s["state"] == "ended")
    assert final["end_reason"] == "missed"
    assert (final["dispatches"][0]["state"], final["dispatches"][0]["reason"]) == (
        "expired",
        "dispatch_timeout",
    )
    assert {(p["state"], p["state_reason"]) for p in final["participants"][1:]} == {
        ("withdrawn", "timeout")
    }


async def test_nobody_available_with_fail_ends_the_call_at_once(api: Api, acme: None) -> None:
    await team(api, when_unavailable="fail")
    await present(api, 42, status="away")
    started = await call_team(api)
    session = started["session"]
    assert (session["state"], session["end_reason"]) == ("ended", "no_agents_available")
    assert session["dispatches"][0]["reason"] == "no_agents_available"
    assert started["join"] is None


async def test_queued_call_is_answered_when_an_agent_turns_available(api: Api, acme: None) -> None:
    await team(api)
    first = (await call_team(api))["session"]
    second = (await call_team(api, caller=8))["session"]
    assert first["state"] == "ringing"
    assert first["dispatches"][0]["state"] == "queued"
    # Each caller sees their place in the queue.
    first = await until(api, first["id"], lambda s: s["dispatches"][0]["queue_position"] == 1)
    second_view = await until(
        api, second["id"], lambda s: s["dispatches"][0]["queue_position"] == 2, user=8
    )
    assert second_view["dispatches"][0]["state"] == "queued"

    await present(api, 43)
    first = await until(api, first["id"], lambda s: ringing(s) == [43])
    assert first["dispatches"][0]["state"] == "ringing"
    assert first["dispatches"][0]["queue_position"] is None
    # 43 is busy ringing for the first call: the second moves up, still waiting.
    second_view = await until(
        api, second["id"], lambda s: s["dispatches"][0]["queue_position"] == 1, user=8
    )
    assert ringing(second_view) == []
    answered = await answer(api, first, 43)
    assert answered.status_code == 200, answered.text
    assert answered.json()["session"]["dispatches"][0]["state"] == "resolved"


async def test_queue_timeout_misses_the_call(api: Api, acme: None) -> None:
    await team(api, max_queue_wait_s=0.3)
    session = (await call_team(api))["session"]
    final = await until(api, session["id"], lambda s: s["state"] == "ended")
    assert final["end_reason"] == "missed"
    assert (final["dispatches"][0]["state"], final["dispatches"][0]["reason"]) == (
        "expired",
        "queue_timeout",
    )


async def test_the_caller_hanging_up_cancels_the_dispatch(api: Api, acme: None) -> None:
    await team(api)
    await present(api, 42, 43)
    session = (await call_team(api))["session"]
    cancelled = await api.post(CUSTOMER, f"/vendors/acme/sessions/{session['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    final = cancelled.json()
    assert (final["dispatches"][0]["state"], final["dispatches"][0]["reason"]) == (
        "cancelled",
        "caller_cancelled",
    )
    assert {(p["state"], p["state_reason"]) for p in final["participants"][1:]} == {
        ("withdrawn", "cancelled")
    }
    assert await invites_of(api, 42) == []
    # A queued caller hanging up leaves the queue too.
    await present(api, 42, 43, status="away")
    queued = (await call_team(api))["session"]
    assert queued["dispatches"][0]["state"] == "queued"
    gone = await api.post(CUSTOMER, f"/vendors/acme/sessions/{queued['id']}/cancel")
    assert gone.json()["dispatches"][0]["state"] == "cancelled"


async def test_busy_agents_are_not_rung_until_the_team_allows_more_calls(
    api: Api, acme: None
) -> None:
    await team(api, [42])
    await present(api, 42)
    first = (await call_team(api))["session"]
    assert (await answer(api, first, 42)).status_code == 200
    second = (await call_team(api, caller=8))["session"]
    assert second["dispatches"][0]["state"] == "queued"
    await team(api, [42], max_concurrent_calls=2)
    third = (await call_team(api, caller=9))["session"]
    assert ringing(third) == [42]


async def test_wrap_up_keeps_an_agent_free_of_calls_until_they_say_available(
    api: Api, acme: None
) -> None:
    await team(api, [42], wrap_up_s=600)
    await present(api, 42)
    first = (await call_team(api))["session"]
    assert (await answer(api, first, 42)).status_code == 200
    assert (await api.post(42, f"/vendors/acme/sessions/{first['id']}/end")).status_code == 200
    presence = (await api.get(42, "/vendors/acme/presence")).json()["presence"]
    assert presence[0]["wrap_up_until"] is not None
    waiting = (await call_team(api, caller=8))["session"]
    assert waiting["dispatches"][0]["state"] == "queued"
    await present(api, 42)  # ends the after-call work early
    await until(api, waiting["id"], lambda s: ringing(s) == [42], user=8)


async def test_a_host_escalates_a_live_call_to_a_team(api: Api, acme: None) -> None:
    await team(api, [43, 44])
    await present(api, 43, 44)
    started = await api.post(
        CUSTOMER, "/vendors/acme/sessions", json={"target": {"type": "vendor_user", "user_id": 42}}
    )
    session = started.json()["session"]
    assert (await answer(api, session, 42)).status_code == 200
    escalated = await api.post(
        42,
        f"/vendors/acme/sessions/{session['id']}/participants",
        json={"target": {"type": "team", "team": "support"}},
    )
    assert escalated.status_code == 200, escalated.text
    body = escalated.json()
    assert sorted(ringing(body)) == [43, 44]
    assert body["dispatches"][0]["state"] == "ringing"
    joined = await answer(api, body, 44)
    assert joined.status_code == 200, joined.text
    final = joined.json()["session"]
    assert final["dispatches"][0]["state"] == "resolved"
    assert sorted(p["user_id"] for p in final["participants"] if p["state"] == "accepted") == [
        CUSTOMER,
        42,
        44,
    ]


async def test_presence_is_published_to_the_members(api: Api, app: FastAPI, acme: None) -> None:
    await present(api, 42, status="away")
    (channels, data), *_ = await events(app, "presence.upsert")
    assert (data["user_id"], data["status"]) == (42, "away")
    assert channels == [f"agent:acme#{u}" for u in sorted([OWNER, *AGENTS])] + ["vendor:acme"]


async def test_bad_team_settings_and_unknown_teams_are_refused(api: Api, acme: None) -> None:
    bad = await api.put(
        OWNER, SUPPORT, json={"members": AGENTS, "strategy": "sequential", "batch_size": 2}
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    for settings in ({"dispatch_timeout_s": 0}, {"max_rounds": 11}, {"ring_order": "random"}):
        refused = await api.put(OWNER, SUPPORT, json={"members": AGENTS, **settings})
        assert refused.status_code == 422, settings
    unknown = await api.post(
        CUSTOMER, "/vendors/acme/sessions", json={"target": {"type": "team", "team": "sales"}}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "team_not_found")
    assert (await api.get(OWNER, "/vendors/acme/teams/sales")).status_code == 404
