"""`sessions.sync()` pages through the server's lists: a client never loses calls to a
page limit, and what is not on one page is not taken for removed."""

from __future__ import annotations

from farvex.testing import CallpadServer

OWNER, AGENT = 1, 42
FIRST_CUSTOMER = 1000


async def test_sync_keeps_every_live_session_past_one_page(callpad_server: CallpadServer) -> None:
    server = callpad_server
    await server.create_vendor("acme", {OWNER: "owner", AGENT: "agent"}, ring_timeout_s=600)
    calls = 205  # more than the largest page (200)
    caller_of: dict[str, int] = {}
    for customer in range(FIRST_CUSTOMER, FIRST_CUSTOMER + calls):
        response = await server.request(
            "POST",
            customer,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": AGENT}},
        )
        assert response.status_code == 201, response.text
        caller_of[response.json()["session"]["id"]] = customer
    owner = await server.host_client("acme", OWNER)
    agent = await server.host_client("acme", AGENT)
    await owner.sessions.sync()
    await agent.sessions.sync()
    assert len(owner.sessions) == calls
    assert len(agent.sessions) == calls and len(agent.invites) == calls

    # The newest 200 end: the server's first page now holds the other 5, and sync shows them.
    newest = [s.id for s in owner.sessions.list()][5:]
    for session_id in newest:
        cancelled = await server.request(
            "POST", caller_of[session_id], f"/vendors/acme/sessions/{session_id}/cancel"
        )
        assert cancelled.status_code == 200, cancelled.text
    await owner.sessions.sync()
    await agent.sessions.sync()
    expected = {s["id"] for s in await server.sessions_of(OWNER, "acme")}
    assert len(expected) == 5
    assert {s.id for s in owner.sessions.list()} == expected
    assert {s.id for s in agent.sessions.list()} == expected
    assert {i.session_id for i in agent.invites.list()} == expected


async def test_presence_holds_every_member_past_one_page(callpad_server: CallpadServer) -> None:
    server = callpad_server
    agents = range(FIRST_CUSTOMER, FIRST_CUSTOMER + 204)  # with the owner, 205: over a page
    await server.create_vendor("acme", {OWNER: "owner"} | {uid: "agent" for uid in agents})
    expected: dict[int, str] = {}
    for n, uid in enumerate([OWNER, *agents]):
        status = ("available", "away", "offline")[n % 3]
        put = await server.request("PUT", uid, "/vendors/acme/presence/me", json={"status": status})
        assert put.status_code == 200, put.text
        expected[uid] = status

    owner = await server.host_client("acme", OWNER)
    await owner.sessions.sync()  # a sync reads presence with the sessions
    assert {p.user_id: p.status for p in owner.presence.list()} == expected
    agent = await server.host_client("acme", agents[-1])
    refreshed = await agent.presence.refresh()
    assert [p.user_id for p in refreshed] == sorted(expected)
    assert {p.user_id: p.status for p in refreshed} == expected
