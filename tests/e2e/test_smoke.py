from __future__ import annotations

from farvex.testing import CallpadServer

from ._support import AGENT, CUSTOMER, OWNER, assert_stores_match


async def test_smoke(callpad_server: CallpadServer) -> None:
    await callpad_server.create_vendor("acme", {OWNER: "owner", AGENT: "agent"})
    customer = await callpad_server.session_client(CUSTOMER, connect=True)
    agent = await callpad_server.host_client("acme", AGENT, connect=True)
    started = await customer.sessions.start(
        vendor="acme", target={"type": "vendor_user", "user_id": AGENT}
    )
    invite = await agent.invites.next()
    assert invite.session.id == started.session.id
    await assert_stores_match(callpad_server, customer, agent)
    accepted = await agent.invites.accept(invite)
    assert accepted.session.state == "active"
    await assert_stores_match(callpad_server, customer, agent)
