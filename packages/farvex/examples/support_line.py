"""A support line, end to end: a customer calls the `support` team, two agents ring at
once, the first to answer takes the call, the supervisor watches every call of the vendor,
and the agent holds, records, conferences a phone number in and ends the call.

    pip install 'farvex[testing]'      # the SDK and a local Callpad server
    python support_line.py

Copy it as the skeleton of your app: each role is one function taking its client. Against
your own server, create the clients with your server's URL and an `Auth` that fetches the
user's token from your backend instead of `server.session_client(...)`:

    customer = create_session_client(api_url=URL, user_id=7, auth=Auth(get_access_token=...))
    agent = create_host_client(api_url=URL, vendor="acme", user_id=42, auth=Auth(...))
"""

from __future__ import annotations

import asyncio

from farvex import (
    ConflictError,
    HostClient,
    InviteRemoved,
    PhoneTarget,
    SessionClient,
    SessionUpdated,
    TeamTarget,
)
from farvex.testing import CallpadServer, running_server, wait_for

CUSTOMER, ALICE, BOB, SUPERVISOR = 7, 42, 43, 1
ANSWERING_PHONE = "+12025550100"  # the offline media backend answers this number


async def customer_calls(customer: SessionClient) -> str:
    """The customer's app: ring the support team, wait until someone answers."""
    started = await customer.sessions.start(
        vendor="acme", target=TeamTarget(team="support"), name="Card blocked"
    )
    session_id = started.session.id
    print(f"customer: calling support ({session_id}), state {started.session.state}")
    await wait_for(customer, lambda c: (s := c.sessions.get(session_id)) and s.state == "active")
    print("customer: an agent answered")
    return session_id


async def agent_answers(agent: HostClient, name: str) -> str | None:
    """An agent's desktop: take the next ringing call; losing the race is normal."""
    invite = await agent.invites.next()
    print(f"{name}: ringing for {invite.session_name!r}")
    try:
        answered = await agent.invites.accept(invite)
    except ConflictError as lost:  # a colleague answered first
        print(f"{name}: too late ({lost.code})")
        return None
    print(f"{name}: answered, media room {answered.join.room if answered.join else None}")
    return answered.session.id


async def agent_handles(agent: HostClient, session_id: str) -> None:
    """The agent's controls during the call, each guarded by what the server allows."""
    if agent.sessions.can(session_id, "hold"):
        await agent.sessions.hold(session_id)
        await agent.sessions.unhold(session_id)
    await agent.sessions.start_recording(session_id)
    await agent.sessions.add_participant(session_id, target=PhoneTarget(phone=ANSWERING_PHONE))
    await wait_for(agent, lambda c: (s := c.sessions.get(session_id)) and len(s.telephony_legs))
    await agent.sessions.stop_recording(session_id)
    await agent.sessions.end(session_id)
    print("agent: call ended")


def supervise(supervisor: HostClient) -> None:
    """The supervisor's wallboard: every call of the vendor, as it changes."""

    def on_update(event: SessionUpdated) -> None:
        print(f"supervisor: {event.session.id} is {event.session.state} (v{event.session.version})")

    supervisor.on("session.updated", on_update)


async def run(server: CallpadServer) -> None:
    await server.create_vendor("acme", {ALICE: "agent", BOB: "agent", SUPERVISOR: "owner"})
    await server.create_team("acme", SUPERVISOR, "support", [ALICE, BOB])
    customer = await server.session_client(CUSTOMER, connect=True)
    alice = await server.host_client("acme", ALICE, connect=True)
    bob = await server.host_client("acme", BOB, connect=True)
    supervisor = await server.host_client("acme", SUPERVISOR, connect=True)
    supervise(supervisor)
    for agent in (alice, bob):
        await agent.presence.set("available")  # only available agents ring

    def on_missed(event: InviteRemoved) -> None:
        print(f"bob: invite gone ({event.state}, {event.reason})")

    bob.on("invite.removed", on_missed)
    calling = asyncio.create_task(customer_calls(customer))
    answered = await asyncio.gather(agent_answers(alice, "alice"), agent_answers(bob, "bob"))
    session_id = await calling
    winner = alice if answered[0] == session_id else bob
    await agent_handles(winner, session_id)
    await wait_for(customer, lambda c: session_id not in c.sessions)
    print("customer: the call is over")


async def main() -> None:
    async with running_server() as server:
        await run(server)


if __name__ == "__main__":
    asyncio.run(main())
