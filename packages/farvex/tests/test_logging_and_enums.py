"""`FARVEX_LOG=debug` shows requests and retries; values a newer server adds to its enums
are kept, never a reason to drop an update."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import httpx
from farvex import Auth, ParticipantState, SessionState, create_session_client
from farvex.testing import handlers_done, publish

from .test_http import session_json


def test_farvex_log_debug_prints_each_request_and_retry() -> None:
    script = textwrap.dedent(
        """
        import asyncio, httpx, farvex, farvex._http
        empty = {"sessions": [], "next_cursor": None}
        answers = [httpx.Response(503), httpx.Response(200, json=empty)]
        async def no_wait(delay): pass
        farvex._http._sleep = no_wait
        async def main():
            client = farvex.create_session_client(
                api_url="http://callpad.test", user_id=7,
                auth=farvex.Auth(get_access_token=lambda: "t"),
                transport=httpx.MockTransport(lambda r: answers.pop(0)),
            )
            await client._api.list_my_sessions(client._options)
            await client.dispose()
        asyncio.run(main())
        """
    )
    env = {**os.environ, "FARVEX_LOG": "debug"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert "GET /api/v1/me/sessions -> 503" in done.stderr
    assert "retry 1" in done.stderr
    assert "GET /api/v1/me/sessions -> 200" in done.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", script],
        env={k: v for k, v in os.environ.items() if k != "FARVEX_LOG"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert quiet.stderr == ""


def newer_server_session() -> dict[str, Any]:
    """A session as a newer server might describe it: states this SDK does not know."""
    session = session_json()
    session["state"] = "transferring"
    session["version"] = 9
    session["route"]["direction"] = "transfer"
    agent = session["participants"][1]
    agent["state"] = "parked"
    agent["role"] = "supervisor"
    agent["capabilities"] = ["accept_invite", "transfer_session"]
    return session


async def test_a_server_answering_unknown_states_keeps_every_update() -> None:
    answers = {
        "/api/v1/me/sessions": {"sessions": [newer_server_session()], "next_cursor": None},
        "/api/v1/me/invites": {"invites": [], "next_cursor": None},
    }
    client = create_session_client(
        api_url="http://callpad.test",
        user_id=7,
        auth=Auth(get_access_token=lambda: "t"),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answers[r.url.path])),
    )
    updated: list[str] = []
    client.on("session.updated", lambda event: updated.append(str(event.session.state)))
    await client.sessions.sync()
    session = client.sessions.get("ses_1")
    assert session is not None
    assert session.state == "transferring" and session.state != SessionState.ACTIVE
    agent = session.participants[1]
    assert (agent.state, agent.role) == ("parked", "supervisor")
    assert agent.state is not ParticipantState.INVITED
    assert client.sessions.capabilities_of(session, agent.id) == {
        "accept_invite",
        "transfer_session",
    }
    assert client.sessions.can(session, "accept", participant_id=agent.id)

    # The same over realtime: a newer version with another unknown state applies.
    newer = newer_server_session() | {"version": 10, "state": "escalated"}
    publish(client, {"topic": "session.upsert", "data": newer})
    held = client.sessions.get("ses_1")
    assert held is not None and (held.version, held.state) == (10, "escalated")
    await handlers_done(client)
    assert updated == ["transferring", "escalated"]
    await client.dispose()
