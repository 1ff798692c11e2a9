"""A vendor's settings, read and changed by the operator (admin key): what was not sent
stays, bad input is a problem that changes nothing, and nobody else may touch them."""

from __future__ import annotations

from typing import Any

import pytest

from testsupport.api import Api

OWNER = 1


async def settings_of(api: Api, vendor: str) -> dict[str, Any]:
    got = await api.get(None, f"/admin/vendors/{vendor}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def test_the_operator_changes_only_what_it_sends(api: Api) -> None:
    created = await api.create_vendor("acme", {OWNER: "owner"}, ring_timeout_s=45)
    assert created["end_sessions_with_room"] is None  # the deployment's default
    assert await settings_of(api, "acme") == created

    patched = await api.request(
        "PATCH", None, "/admin/vendors/acme", json={"end_sessions_with_room": False}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**created, "end_sessions_with_room": False}
    assert await settings_of(api, "acme") == patched.json()

    renamed = await api.request(
        "PATCH", None, "/admin/vendors/acme", json={"name": "Acme Inc", "ring_timeout_s": 20}
    )
    assert renamed.json() == {
        **created,
        "name": "Acme Inc",
        "ring_timeout_s": 20,
        "end_sessions_with_room": False,
    }
    back = await api.request(
        "PATCH", None, "/admin/vendors/acme", json={"end_sessions_with_room": None}
    )
    assert back.json()["end_sessions_with_room"] is None
    assert back.json()["name"] == "Acme Inc"


@pytest.mark.parametrize(
    "body",
    [
        {"ring_timeout_s": None},
        {"name": None},
        {"ring_timeout_s": 0},
        {"end_sessions_with_room": "maybe"},
        {"end_sessions_with_room": True, "color": "red"},
    ],
    ids=["null-ring-timeout", "null-name", "zero-ring-timeout", "not-a-bool", "unknown-field"],
)
async def test_bad_settings_are_a_problem_and_change_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    await api.create_vendor("acme", {OWNER: "owner"})
    before = await settings_of(api, "acme")
    answer = await api.request("PATCH", None, "/admin/vendors/acme", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await settings_of(api, "acme") == before


async def test_only_the_operator_reads_or_changes_settings(api: Api) -> None:
    await api.create_vendor("acme", {OWNER: "owner"})
    before = await settings_of(api, "acme")
    for method in ("GET", "PATCH"):
        answer = await api.request(
            method, OWNER, "/admin/vendors/acme", json={"end_sessions_with_room": False}
        )
        assert answer.status_code == 401, (method, answer.text)
    assert await settings_of(api, "acme") == before
    missing = await api.request(
        "PATCH", None, "/admin/vendors/nobody", json={"end_sessions_with_room": False}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "vendor_not_found")
    assert (await api.get(None, "/admin/vendors/nobody")).status_code == 404
