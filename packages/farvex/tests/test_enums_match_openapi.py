"""The SDK's closed value sets are the API's: each enum farvex exports has exactly the
values the committed OpenAPI document declares for it, in both directions, and every enum
of the document is either mirrored here or named below as one the SDK does not model."""

from __future__ import annotations

import typing
from enum import StrEnum

import farvex
import pytest
from farvex import MemberPresence

from testsupport.openapi import disagreements, document_enums

# Where each exported enum is declared in the document (its own schema, by default).
DECLARED_AT: dict[type[StrEnum], str] = {farvex.PresenceStatus: "PresenceView.status"}
# Enums the SDK has no use for, and why.
NOT_MODELLED = {
    "MemberRole": "vendor memberships are administered over the admin API, not the SDK",
    "WhenUnavailable": "team dispatch settings are administered over the admin API",
    "ProblemCode": "errors carry the code as a string, so a newer server's codes pass through",
    "GET /api/v1/me/sessions status": "the SDK reads live sessions (and pages with sync())",
    "GET /api/v1/vendors/{vendor}/sessions status": "as above",
}
# Client-side states no API shape carries.
CLIENT_ONLY = {farvex.ConnectionStatus}

SDK_ENUMS = sorted(
    (
        e
        for name in farvex.__all__
        if isinstance(e := getattr(farvex, name), type) and issubclass(e, StrEnum)
    ),
    key=lambda e: e.__name__,
)
DOCUMENT = document_enums()


def declared_at(enum: type[StrEnum]) -> str:
    return DECLARED_AT.get(enum, enum.__name__)


@pytest.mark.parametrize(
    "enum", [e for e in SDK_ENUMS if e not in CLIENT_ONLY], ids=lambda e: e.__name__
)
def test_each_enum_has_the_documents_values(enum: type[StrEnum]) -> None:
    where = declared_at(enum)
    assert where in DOCUMENT, f"{enum.__name__}: the document has no enum {where!r}"
    assert disagreements(enum, DOCUMENT[where]) == []


def test_setting_presence_accepts_the_documents_values() -> None:
    hints = typing.get_type_hints(MemberPresence.set)
    assert set(typing.get_args(hints["status"])) == DOCUMENT["PresencePut.status"]


def test_every_enum_of_the_document_is_mirrored_or_named_as_not_modelled() -> None:
    mirrored = {declared_at(e) for e in SDK_ENUMS if e not in CLIENT_ONLY}
    mirrored.add("PresencePut.status")  # MemberPresence.set's Literal, checked above
    unplaced = set(DOCUMENT) - mirrored - set(NOT_MODELLED)
    assert unplaced == set(), "give the SDK an enum for these, or say why it has none"
    assert set(NOT_MODELLED) <= set(DOCUMENT), "a name here is no longer in the document"


def test_the_check_catches_a_value_on_either_side() -> None:
    class Drifted(StrEnum):
        RINGING = "ringing"
        TRANSFERRING = "transferring"

    assert disagreements(Drifted, {"ringing", "ended"}) == [
        "Drifted.transferring is not in the document",
        "Drifted lacks the document's 'ended'",
    ]
