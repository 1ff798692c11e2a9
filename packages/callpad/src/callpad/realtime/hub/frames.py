"""Reading a client's message: newline-separated JSON commands, bounded in number and depth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ["BadFrame", "commands"]


class BadFrame(Exception):
    """Not a protocol message: the hub closes with 3501 (bad request)."""


def commands(text: str, max_commands: int) -> Iterator[dict[str, Any]]:
    """The message's commands, one at a time (a bad line ends the message where it is).

    orjson bounds what one line may cost: nesting deeper than 1024 levels, integers past
    64 bits (read as floats, so never a valid id), NaN and invalid UTF-8 are all errors.
    """
    if text.count("\n") > max_commands:  # one trailing newline is allowed
        raise BadFrame(f"more than {max_commands} commands")
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            command = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BadFrame(str(exc)) from None
        if not isinstance(command, dict):
            raise BadFrame("a command is a JSON object")
        yield command
