"""The closed value sets the committed OpenAPI document declares, for tests that hold the
server's and the SDK's enums to it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi" / "callpad.json"


def document_enums(document: dict[str, Any] | None = None) -> dict[str, set[str]]:
    """Every `enum` in the document, wherever it is, by a name for where: a named schema
    by its name (`SessionState`), a schema's property as `PresenceView.status`, an
    operation's parameter as `GET /api/v1/me/sessions status`, anything else by its JSON
    path."""
    doc = document if document is not None else json.loads(DOCUMENT.read_text())
    found: dict[str, set[str]] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, str(i)))
        if not isinstance(node, dict):
            return
        if "enum" in node:
            found[_where(doc, path)] = set(node["enum"])
        for key, value in node.items():
            walk(value, (*path, key))

    walk(doc, ())
    return found


def _where(doc: dict[str, Any], path: tuple[str, ...]) -> str:
    match path:
        case ("components", "schemas", name):
            return name
        case ("components", "schemas", name, "properties", field):
            return f"{name}.{field}"
        case ("paths", route, method, "parameters", index, "schema"):
            parameter = doc["paths"][route][method]["parameters"][int(index)]
            return f"{method.upper()} {route} {parameter['name']}"
    return "/".join(path)


def disagreements(enum: type[StrEnum], declared: set[str]) -> list[str]:
    """How `enum` and the document's values differ, in both directions (empty: they agree)."""
    mine = {member.value for member in enum}
    return [
        *(f"{enum.__name__}.{v} is not in the document" for v in sorted(mine - declared)),
        *(f"{enum.__name__} lacks the document's {v!r}" for v in sorted(declared - mine)),
    ]
