"""The pytest plugin works in a fresh project with no configuration: the docs' example,
copied into an empty directory, passes under pytest-asyncio's default (strict) mode."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from farvex import Auth, create_session_client
from farvex.testing import eventually, publish, wait_for

from .test_http import session_json

EXAMPLE = """
from farvex import VendorUserTarget
from farvex.testing import CallpadServer, wait_for


async def test_support_answers(callpad_server: CallpadServer) -> None:
    await callpad_server.create_vendor("acme", {42: "agent"})
    customer = await callpad_server.session_client(7, connect=True)
    agent = await callpad_server.host_client("acme", 42, connect=True)
    started = await customer.sessions.start(vendor="acme", target=VendorUserTarget(user_id=42))
    invite = await agent.invites.next()
    answered = await agent.invites.accept(invite)
    assert answered.session.state == "active"
    await wait_for(customer, lambda c: c.sessions.get(started.session.id).state == "active")
"""


@pytest.mark.timeout(600)  # a whole pytest run with a real server, on a shared machine
def test_the_documented_example_passes_in_a_fresh_project(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(textwrap.dedent(EXAMPLE))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


async def test_eventually_returns_the_first_truthy_value_and_fails_on_a_hang() -> None:
    calls: list[int] = []

    def check() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert await eventually(check) == 3
    with pytest.raises(AssertionError, match=r"not true within 0\.05 s"):
        await eventually(lambda: False, timeout=0.05)


async def test_wait_for_wakes_on_a_store_change() -> None:
    client = create_session_client(
        api_url="http://callpad.test",
        user_id=7,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    )
    waiting = wait_for(client, lambda c: c.sessions.get("ses_1"), timeout=5)
    publish(client, {"topic": "session.upsert", "data": session_json()})
    found = await waiting
    assert found.id == "ses_1"
    with pytest.raises(AssertionError, match="not true within"):
        await wait_for(client, lambda c: c.sessions.get("ses_2"), timeout=0.05)
    await client.dispose()
