"""The server's closed value sets are the API's: every domain enum (and the member roles,
problem codes, presence statuses and list filters) has exactly the values the committed
OpenAPI document declares for it, in both directions, and the document declares no enum
the server does not own. (`make check` already fails when the document drifts from the
server; this fails when a schema copies a value set instead of using the enum.)"""

from __future__ import annotations

import typing
from enum import StrEnum

import callpad.domain as domain
import pytest
from callpad.presence.schemas import PresenceStatus
from callpad.problems import ProblemCode
from callpad.sessions.repository import ListStatus
from callpad.vendors import MemberRole

from testsupport.openapi import disagreements, document_enums

# The domain's own, not the API's: refusals reach clients as ProblemCodes (test_errors.py).
INTERNAL = {domain.ErrorCode}

SERVER_ENUMS = sorted(
    {
        e
        for name in domain.__all__
        if isinstance(e := getattr(domain, name), type) and issubclass(e, StrEnum)
    }
    - INTERNAL
    | {MemberRole, ProblemCode},
    key=lambda e: e.__name__,
)
LITERALS = {
    "PresencePut.status": PresenceStatus,
    "PresenceView.status": PresenceStatus,
    "GET /api/v1/me/sessions status": ListStatus,
    "GET /api/v1/vendors/{vendor}/sessions status": ListStatus,
}
DOCUMENT = document_enums()


@pytest.mark.parametrize("enum", SERVER_ENUMS, ids=lambda e: e.__name__)
def test_each_enum_has_the_documents_values(enum: type[StrEnum]) -> None:
    assert enum.__name__ in DOCUMENT, f"the document has no enum {enum.__name__}"
    assert disagreements(enum, DOCUMENT[enum.__name__]) == []


@pytest.mark.parametrize("where", sorted(LITERALS))
def test_each_literal_has_the_documents_values(where: str) -> None:
    assert set(typing.get_args(LITERALS[where])) == DOCUMENT[where]


def test_the_document_declares_no_enum_the_server_does_not_own() -> None:
    owned = {e.__name__ for e in SERVER_ENUMS} | set(LITERALS)
    assert set(DOCUMENT) - owned == set()
