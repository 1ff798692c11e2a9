"""The copyable example apps run against a real server (and `make check` type-checks them
with mypy --strict)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from farvex.testing import CallpadServer

EXAMPLES = Path(__file__).parents[1] / "examples"


async def test_the_support_line_example_runs(callpad_server: CallpadServer, capsys: object) -> None:
    spec = importlib.util.spec_from_file_location("support_line", EXAMPLES / "support_line.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.run(callpad_server)
    sessions = await callpad_server.sessions_of(1, "acme")
    assert sessions == [], "the call ended"
