"""Misconfigurations fail loudly instead of connecting and then receiving nothing."""

from __future__ import annotations

import pytest
from farvex import ConfigurationError, RealtimeConnectionError, VendorUserTarget
from farvex.testing import CallpadServer, wait_for


async def test_a_vendor_member_on_a_session_client_is_told_to_use_a_host_client(
    callpad_server: CallpadServer,
) -> None:
    await callpad_server.create_vendor("acme", {42: "agent"})
    member = await callpad_server.session_client(42)
    with pytest.raises(ConfigurationError, match=r"member of acme.*create_host_client"):
        await member.connect()

    # Said on purpose: the member calls another vendor as a customer; that works.
    await callpad_server.create_vendor("bolt", {50: "agent"})
    caller = await callpad_server.session_client(42, as_customer=True, connect=True)
    started = await caller.sessions.start(vendor="bolt", target=VendorUserTarget(user_id=50))
    bolt_agent = await callpad_server.host_client("bolt", 50, connect=True)
    invite = await bolt_agent.invites.next()
    await bolt_agent.invites.accept(invite)
    found = await wait_for(caller, lambda c: c.sessions.get(started.session.id))
    await wait_for(caller, lambda c: found.id in c.sessions and c.sessions.active is not None)


async def test_realtime_that_does_not_connect_names_the_url_and_the_cause(
    callpad_server: CallpadServer,
) -> None:
    customer = await callpad_server.session_client(7, connect_timeout=1.0)
    async with callpad_server.realtime_outage():
        with pytest.raises(RealtimeConnectionError) as raised:
            await customer.connect()
    error = raised.value
    assert error.url.startswith("ws://127.0.0.1:") and error.url in str(error)
    assert error.cause and error.cause in str(error)
    assert error.cause != "no answer", "the refusal's reason is named"
