"""Every list endpoint pages with a cursor: each item exactly once, in the list's order,
however the pages are cut; a cursor the server did not issue is a 422 problem."""

from __future__ import annotations

from typing import Any

import pytest

from testsupport.api import Api

OWNER, AGENT = 1, 42
CUSTOMERS = range(100, 107)


async def pages(
    api: Api, user_id: int, path: str, key: str, limit: int, **query: str
) -> list[list[Any]]:
    """Every page of a list, following `next_cursor` to the end."""
    found: list[list[Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **query}
        if cursor is not None:
            params["cursor"] = cursor
        response = await api.get(user_id, path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        found.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


@pytest.fixture
async def calls(api: Api) -> list[str]:
    """Seven calls from seven customers to the agent; the first three ended. Newest first."""
    await api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
    ids = []
    for customer in CUSTOMERS:
        started = await api.post(
            customer,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": AGENT}},
        )
        assert started.status_code == 201, started.text
        ids.append(started.json()["session"]["id"])
    for customer, session_id in list(zip(CUSTOMERS, ids, strict=True))[:3]:
        cancelled = await api.post(customer, f"/vendors/acme/sessions/{session_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    return ids[::-1]


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
async def test_the_vendors_sessions_page_newest_first(
    api: Api, calls: list[str], limit: int
) -> None:
    everything = await pages(api, OWNER, "/vendors/acme/sessions", "sessions", limit, status="all")
    assert [s["id"] for page in everything for s in page] == calls
    assert all(len(page) == limit for page in everything[:-1])
    live = await pages(api, OWNER, "/vendors/acme/sessions", "sessions", limit, status="live")
    assert [s["id"] for page in live for s in page] == calls[:4]
    ended = await pages(api, OWNER, "/vendors/acme/sessions", "sessions", limit, status="ended")
    assert [s["id"] for page in ended for s in page] == calls[4:]


async def test_a_users_sessions_and_invites_page(api: Api, calls: list[str]) -> None:
    mine = await pages(api, AGENT, "/me/sessions", "sessions", 2, status="all")
    assert [s["id"] for page in mine for s in page] == calls
    invites = await pages(api, AGENT, "/vendors/acme/invites", "invites", 3)
    assert [i["session_id"] for page in invites for i in page] == calls[:4][::-1], "oldest first"
    across = await pages(api, AGENT, "/me/invites", "invites", 1)
    assert [i["session_id"] for page in across for i in page] == calls[:4][::-1]


async def test_contacts_page_by_name(api: Api) -> None:
    await api.create_vendor("acme", {OWNER: "owner"})
    names = ["Dora", "Ann", "Cleo", "Bea", "Ann"]
    for n, name in enumerate(names):
        created = await api.post(
            OWNER, "/vendors/acme/contacts", json={"name": name, "phone": f"+1202555010{n}"}
        )
        assert created.status_code == 201, created.text
    found = await pages(api, OWNER, "/vendors/acme/contacts", "contacts", 2)
    assert [c["name"] for page in found for c in page] == sorted(names)
    assert len({c["id"] for page in found for c in page}) == len(names)


@pytest.mark.parametrize(
    "cursor", ["nonsense", "WyJ4Il0", "WyJub3QgYSB0aW1lIiwgInNlc18xIl0", "x" * 501]
)
async def test_a_cursor_the_server_did_not_issue_is_a_422_problem(
    api: Api, calls: list[str], cursor: str
) -> None:
    for path in ("/vendors/acme/sessions", "/me/sessions", "/me/invites"):
        response = await api.get(AGENT, path, params={"cursor": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "validation_failed"


async def test_teams_page_by_name(api: Api) -> None:
    await api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
    names = ["sales", "b-team", "support", "a-team", "night", "emea"]
    for n, name in enumerate(names):
        put = await api.put(
            OWNER, f"/vendors/acme/teams/{name}", json={"members": [AGENT, OWNER][: n % 2 + 1]}
        )
        assert put.status_code == 200, put.text
    whole = (await api.get(AGENT, "/vendors/acme/teams", params={"limit": 200})).json()
    assert [t["team"] for t in whole["teams"]] == sorted(names)
    assert whole["next_cursor"] is None
    for limit in (1, 4, 6):
        found = await pages(api, AGENT, "/vendors/acme/teams", "teams", limit)
        assert [t for page in found for t in page] == whole["teams"], "every team once, whole"
        assert all(len(page) == limit for page in found[:-1])
    assert len(await pages(api, AGENT, "/vendors/acme/teams", "teams", 6)) == 1


async def test_presence_pages_by_user_id(api: Api) -> None:
    members = [OWNER, AGENT, *range(300, 320)]
    await api.create_vendor("acme", {uid: "agent" for uid in members} | {OWNER: "owner"})
    for n, uid in enumerate(reversed(members)):
        status = ("available", "away", "offline")[n % 3]
        put = await api.put(uid, "/vendors/acme/presence/me", json={"status": status})
        assert put.status_code == 200, put.text
    whole = (await api.get(AGENT, "/vendors/acme/presence", params={"limit": 200})).json()
    assert [p["user_id"] for p in whole["presence"]] == sorted(members)
    assert whole["next_cursor"] is None
    for limit in (1, 5, 22):
        found = await pages(api, OWNER, "/vendors/acme/presence", "presence", limit)
        assert [p for page in found for p in page] == whole["presence"], "every member once"
        assert all(len(page) == limit for page in found[:-1])
    default = (await api.get(AGENT, "/vendors/acme/presence")).json()
    assert len(default["presence"]) == 22 and default["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "WyJ4IiwgInkiXQ",  # two values, where a team or a user id is one
        "WyJub3QgYSBudW1iZXIiXQ",  # ["not a number"]: no user id, no team name
        # ["1000...0"] (70 digits): beyond any BIGINT user id and longer than a team name
        "WyIxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIl0",
        "WyJcdTAwMDAiXQ",  # ["\u0000"]: PostgreSQL refuses NUL in text
        "WyJcdWQ4MDAiXQ",  # ["\ud800"]: a lone surrogate
        "x" * 501,
    ],
)
async def test_a_bad_cursor_on_teams_and_presence_is_a_422_problem(api: Api, cursor: str) -> None:
    await api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
    for path in ("/vendors/acme/teams", "/vendors/acme/presence"):
        response = await api.get(AGENT, path, params={"cursor": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "validation_failed"


async def test_another_vendors_member_pages_nothing(api: Api) -> None:
    """Teams and presence stay the vendor's members': a cursor does not open them."""
    await api.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
    await api.create_vendor("globex", {500: "owner"})
    for name in ("a", "b", "c"):
        put = await api.put(OWNER, f"/vendors/acme/teams/{name}", json={"members": [AGENT]})
        assert put.status_code == 200, put.text
    for uid in (OWNER, AGENT):
        put = await api.put(uid, "/vendors/acme/presence/me", json={"status": "available"})
        assert put.status_code == 200, put.text
    for path, key in (("/vendors/acme/teams", "teams"), ("/vendors/acme/presence", "presence")):
        first = (await api.get(AGENT, path, params={"limit": 1})).json()
        assert len(first[key]) == 1 and first["next_cursor"] is not None
        for params in ({}, {"limit": 1}, {"limit": 1, "cursor": first["next_cursor"]}):
            stranger = await api.get(500, path, params=params)
            assert stranger.status_code == 403, stranger.text
            assert stranger.json()["code"] == "forbidden"
            unknown = await api.get(AGENT, path.replace("acme", "initech"), params=params)
            assert unknown.status_code == 404, unknown.text
            assert unknown.json()["code"] == "vendor_not_found"


@pytest.mark.parametrize("cursor", ["WyJcdTAwMDAiLCAiY29uXzEiXQ", "WyJcdWQ4MDAiLCAiY29uXzEiXQ"])
async def test_a_cursor_with_a_nul_or_a_lone_surrogate_is_a_422_problem(
    api: Api, cursor: str
) -> None:
    """["\\u0000", "con_1"] and ["\\ud800", "con_1"]: text PostgreSQL cannot hold."""
    await api.create_vendor("acme", {OWNER: "owner"})
    for path in ("/vendors/acme/contacts", "/vendors/acme/sessions"):
        response = await api.get(OWNER, path, params={"cursor": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "validation_failed"
