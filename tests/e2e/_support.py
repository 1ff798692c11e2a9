"""What every e2e flow checks: a client's store ends equal to the server's view."""

from __future__ import annotations

from typing import Any

from farvex import HostClient, Invite, SessionClient, VoiceSession
from farvex.testing import CallpadServer

from testsupport.api import eventually

CUSTOMER, AGENT, OWNER, SECOND_AGENT = 7, 42, 1, 43
ANSWERING_PHONE = "+12025550100"  # the offline media answers it after the answer delay


def stored(client: SessionClient, session_id: str) -> VoiceSession:
    """The session as the client's store holds it; fails the test if it holds none."""
    session = client.sessions.get(session_id)
    assert session is not None, f"user {client.user_id}'s store has no session {session_id}"
    return session


async def server_view(
    server: CallpadServer, client: SessionClient
) -> tuple[dict[str, VoiceSession], dict[str, Invite]]:
    vendor = client.vendor if isinstance(client, HostClient) else None
    sessions = await server.sessions_of(client.user_id, vendor)
    invites = await server.invites_of(client.user_id, vendor)
    return (
        {s["id"]: VoiceSession.model_validate(s) for s in sessions},
        {i["id"]: Invite.model_validate(i) for i in invites},
    )


async def assert_stores_match(server: CallpadServer, *clients: SessionClient) -> None:
    """Each client's sessions and invites end equal to what the server answers over HTTP."""
    for client in clients:
        last: list[Any] = []

        async def matches(client: SessionClient = client, last: list[Any] = last) -> bool:
            sessions, invites = await server_view(server, client)
            last[:] = [
                sessions,
                {x.id: x for x in client.sessions.list()},
                invites,
                {x.id: x for x in client.invites.list()},
            ]
            return {x.id: x for x in client.sessions.list()} == sessions and {
                x.id: x for x in client.invites.list()
            } == invites

        try:
            await eventually(matches)
        except AssertionError:
            sessions, held, invites, held_invites = last
            raise AssertionError(
                f"user {client.user_id}: store {sorted(held)} / invites {sorted(held_invites)}"
                f" != server {sorted(sessions)} / invites {sorted(invites)}"
                + "".join(
                    f"\n  {sid}: store v{held[sid].version if sid in held else None}"
                    f" server v{sessions[sid].version if sid in sessions else None}"
                    for sid in set(held) | set(sessions)
                )
            ) from None
