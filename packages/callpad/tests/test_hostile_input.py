"""Input built to break the server is refused as a problem, never a 500, on both databases:
integers past what the database stores, NUL characters, oversized or malformed headers,
unparseable bodies, tokens whose subject is not a canonical user id."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest
from callpad.app import create_app
from callpad.config import Settings
from fastapi import FastAPI

from testsupport.api import Api

from .conftest import AGENT, CUSTOMER, OWNER
from .test_bad_input import assert_problem, stored_counts

TOO_BIG = 2**63  # one past the largest BIGINT
LARGEST = 2**63 - 1
START = "/vendors/acme/sessions"


@pytest.fixture
async def session(api: Api, acme: Any) -> dict[str, Any]:
    started = await api.post(
        AGENT, START, json={"target": {"type": "customer", "user_id": CUSTOMER}}
    )
    assert started.status_code == 201, started.text
    view: dict[str, Any] = started.json()["session"]
    return view


# -- item 3: integers past what the database stores -------------------------------------


@pytest.mark.parametrize(
    ("method", "user", "path", "body"),
    [
        ("POST", CUSTOMER, START, {"target": {"type": "vendor_user", "user_id": TOO_BIG}}),
        ("POST", AGENT, START, {"target": {"type": "customer", "user_id": TOO_BIG}}),
        ("POST", AGENT, START, {"target": {"type": "customer", "user_id": 10**400}}),
        ("POST", OWNER, "/vendors/acme/contacts", {"name": "Big", "user_id": TOO_BIG}),
        ("PUT", OWNER, "/vendors/acme/teams/support", {"members": [AGENT, TOO_BIG]}),
        ("PUT", None, f"/admin/vendors/acme/members/{TOO_BIG}", {"role": "agent"}),
        ("DELETE", None, f"/admin/vendors/acme/members/{TOO_BIG}", None),
        ("PUT", None, "/admin/vendors/acme/members/-1", {"role": "agent"}),
        ("GET", CUSTOMER, f"/me/sessions?limit={TOO_BIG}", None),
        ("POST", None, "/admin/vendors", {"slug": "big", "name": "Big", "ring_timeout_s": 1e300}),
    ],
)
async def test_an_integer_past_the_database_is_422(
    api: Api, app: FastAPI, acme: Any, method: str, user: int | None, path: str, body: Any
) -> None:
    before = await stored_counts(app)
    response = await api.request(method, user, path, json=body)
    assert_problem(response, 422, "validation_failed")
    assert await stored_counts(app) == before


async def test_the_largest_user_id_works_end_to_end(api: Api, acme: Any) -> None:
    """The bound is what the database stores, not less: user 2^63 - 1 can be a member, be
    called, and call."""
    added = await api.put(None, f"/admin/vendors/acme/members/{LARGEST}", json={"role": "agent"})
    assert added.status_code == 200, added.text
    started = await api.post(
        CUSTOMER, START, json={"target": {"type": "vendor_user", "user_id": LARGEST}}
    )
    assert started.status_code == 201, started.text
    invites = await api.get(LARGEST, "/vendors/acme/invites")
    assert [i["participant"]["user_id"] for i in invites.json()["invites"]] == [LARGEST]


@pytest.mark.parametrize(
    "subject",
    [str(TOO_BIG), str(10**30), "0", "-7", "07", "\u0667", "+7", " 7", "7.0", "7\u0000", ""],
    ids=["2^63", "10^30", "zero", "negative", "leading-zero", "arabic-indic-7", "plus",
         "space", "decimal-point", "nul", "empty"],
)  # fmt: skip
async def test_a_token_whose_sub_is_not_a_canonical_user_id_is_401(
    api: Api, settings: Settings, subject: str
) -> None:
    """Items 3 and 8: "07" or an Arabic-Indic seven must not authenticate as user 7, and a
    sub past the database's range is no user."""
    signed = jwt.encode(
        {"sub": subject, "exp": time.time() + 60}, settings.auth_secret or "", algorithm="HS256"
    )
    response = await api.client.get(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {signed}"}
    )
    assert_problem(response, 401, "unauthorized")


async def test_the_largest_canonical_sub_authenticates(api: Api, settings: Settings) -> None:
    signed = jwt.encode(
        {"sub": str(LARGEST), "exp": time.time() + 60}, settings.auth_secret or "", "HS256"
    )
    response = await api.client.get(
        "/api/v1/me/sessions", headers={"Authorization": f"Bearer {signed}"}
    )
    assert response.status_code == 200, response.text


# -- item 4: NUL characters -------------------------------------------------------------

NUL = "a\u0000b"
TO_AGENT = {"type": "vendor_user", "user_id": AGENT}


@pytest.mark.parametrize(
    ("method", "user", "path", "body"),
    [
        ("POST", CUSTOMER, START, {"target": TO_AGENT, "name": NUL}),
        ("POST", AGENT, START, {"target": {"type": "phone", "phone": "+1202555\u00000100"}}),
        ("POST", AGENT, START, {"target": {"type": "contact", "contact_id": NUL}}),
        ("POST", OWNER, "/vendors/acme/contacts", {"name": NUL}),
        ("POST", OWNER, "/vendors/acme/contacts", {"name": "Ann", "phone": "+1202\u00005550100"}),
        ("POST", None, "/admin/vendors", {"slug": "nul", "name": NUL}),
        ("POST", CUSTOMER, "/vendors/ac%00me/sessions", {"target": TO_AGENT}),
        ("GET", CUSTOMER, "/vendors/acme%00/sessions", None),
        ("GET", AGENT, "/vendors/acme/sessions/ses_%00", None),
        ("GET", AGENT, "/vendors/acme/realtime/grant%00", None),
        ("PUT", None, "/admin/vendors/ac%00me/members/5", {"role": "agent"}),
        ("PUT", OWNER, "/vendors/acme/teams/sup%00port", {"members": [AGENT]}),
    ],
)  # fmt: skip
async def test_a_nul_character_is_invalid_input(
    api: Api, app: FastAPI, acme: Any, method: str, user: int | None, path: str, body: Any
) -> None:
    before = await stored_counts(app)
    response = await api.request(method, user, path, json=body)
    problem = assert_problem(response, 422, "validation_failed")
    assert "NUL" in problem["detail"] or "pattern" in problem["detail"], problem
    assert await stored_counts(app) == before


async def test_a_nul_in_a_session_path_or_rename_is_invalid_input(
    api: Api, app: FastAPI, session: dict[str, Any]
) -> None:
    sid, pid = session["id"], session["participants"][1]["id"]
    before = await stored_counts(app)
    for method, path, body in [
        ("PATCH", f"{START}/{sid}", {"name": NUL}),
        ("POST", f"{START}/{sid}%00/end", None),
        ("POST", f"{START}/{sid}/participants/{pid}%00/accept", None),
        ("DELETE", f"{START}/{sid}/participants/%00", None),
    ]:
        response = await api.request(method, AGENT, path, json=body)
        assert_problem(response, 422, "validation_failed")
    assert await stored_counts(app) == before


# -- item 5: If-Match and Idempotency-Key grammar ---------------------------------------


def documented_pattern(name: str) -> re.Pattern[str]:
    document = create_app(Settings()).openapi()
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == name:
                    return re.compile(parameter["schema"]["pattern"])
    raise AssertionError(f"{name} is not documented")


IF_MATCH_VALUES = [
    ("0", True),
    ('"0"', True),
    ('W/"0"', True),
    ("9" * 5000, False),
    ('"' + "9" * 11 + '"', False),
    ("abc", False),
    ('"1', False),
    ("*", False),
    ("-1", False),
    ("\u0661", False),
]


@pytest.mark.parametrize(("value", "valid"), IF_MATCH_VALUES)
async def test_if_match_follows_its_documented_grammar(
    api: Api, app: FastAPI, session: dict[str, Any], value: str, valid: bool
) -> None:
    """The server accepts exactly what OpenAPI documents; a version that is well formed but
    stale is 412, anything else 422; never 500."""
    assert bool(documented_pattern("if-match").fullmatch(value)) is valid
    before = await stored_counts(app)
    response = await api.patch(
        AGENT,
        f"{START}/{session['id']}",
        json={"name": "renamed"},
        headers={"If-Match": value.encode()},
    )
    if valid:
        assert_problem(response, 412, "version_mismatch")
    else:
        assert_problem(response, 422, "validation_failed")
    assert await stored_counts(app) == before


async def test_if_match_past_the_largest_version_is_422(api: Api, session: dict[str, Any]) -> None:
    response = await api.post(
        AGENT, f"{START}/{session['id']}/cancel", headers={"If-Match": str(2**31)}
    )
    assert_problem(response, 422, "validation_failed")
    current = await api.post(
        AGENT, f"{START}/{session['id']}/cancel", headers={"If-Match": f'"{session["version"]}"'}
    )
    assert current.status_code == 200, current.text


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0b3a6f1e-8f5e-4e7e-9f3a-2b1c4d5e6f70", True),
        ("x" * 200, True),
        ("!~", True),
        ("x" * 201, False),
        ("two words", False),
        ("caf\u00e9", False),
    ],
)
async def test_idempotency_key_follows_its_documented_grammar(
    api: Api, app: FastAPI, acme: Any, value: str, valid: bool
) -> None:
    assert bool(documented_pattern("idempotency-key").fullmatch(value)) is valid
    before = await stored_counts(app)
    response = await api.post(
        CUSTOMER,
        START,
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
        headers={"Idempotency-Key": value.encode()},
    )
    if valid:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, 422, "validation_failed")
        assert await stored_counts(app) == before


# -- item 7: unparseable bodies, 405 -----------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 60_000,
        b'{"target": {"type": "vendor_user", "user_id": 42}, "name": "\xff\xfe"}',
        b"\xef\xbb\xbf\xff",
        b'{"target": ' * 5000,
    ],
    ids=["deep-array", "invalid-utf8", "bom-then-garbage", "deep-object"],
)
async def test_an_unparseable_body_is_400_malformed_json(
    api: Api, app: FastAPI, acme: Any, content: bytes
) -> None:
    before = await stored_counts(app)
    for user, path in [(CUSTOMER, START), (None, "/admin/vendors")]:
        response = await api.post(
            user, path, content=content, headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed_json")
    assert await stored_counts(app) == before


def test_every_operation_with_a_body_documents_malformed_json() -> None:
    document = create_app(Settings()).openapi()
    with_body = [
        (operation["operationId"], operation["responses"])
        for item in document["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert len(with_body) >= 8
    for operation_id, responses in with_body:
        assert "400" in responses, operation_id


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/me/sessions", "GET"),
        ("DELETE", "/api/v1/vendors/acme/sessions", "GET, POST"),
        ("GET", "/api/v1/admin/vendors", "POST"),
        ("POST", "/api/v1/admin/vendors/acme/members/5", "PUT, DELETE"),
    ],
)
async def test_405_names_every_allowed_method(api: Api, method: str, path: str, allow: str) -> None:
    response = await api.client.request(method, path, headers=api.auth(CUSTOMER))
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow


def test_every_number_a_client_sends_is_bounded() -> None:
    """Item 3, for every operation to come: each integer or number in a request body, path
    or query is documented (and so validated) with a maximum the database can store."""
    document = create_app(Settings()).openapi()
    schemas = document["components"]["schemas"]
    unbounded: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                walk(schemas[name], name, seen | {name})
            return
        if schema.get("type") in {"integer", "number"}:
            limit = schema.get("maximum", schema.get("exclusiveMaximum"))
            if limit is None or limit > LARGEST:
                unbounded.append(where)
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                walk(option, where, seen)
        for name, child in schema.get("properties", {}).items():
            walk(child, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{method} {path} {parameter['name']}", frozenset())
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                walk(media["schema"], f"{method} {path} body", frozenset())
    assert unbounded == []
