"""`make demo`: a scripted call between a customer app and a vendor's agent, against a
Callpad server started in this process, printing each client's live event stream.

The server runs offline media (no audio): the phone number answers after a short delay
and recordings go active as LiveKit Egress would report them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, get_args

from farvex import (
    DispatchChanged,
    EventName,
    InviteReceived,
    InviteRemoved,
    ParticipantChanged,
    ParticipantState,
    RecordingChanged,
    RecordingState,
    SessionClient,
    SessionRemoved,
    SessionUpdated,
    StatusChanged,
)
from farvex.testing import running_server, wait_for

CUSTOMER, AGENT = 7, 42
PHONE = "+12025550100"  # offline media: answers after the answer delay
EVENTS: tuple[EventName, ...] = get_args(EventName)  # every event a client emits
_started_at = [time.monotonic()]


def line(who: str, text: str) -> None:
    print(f"{time.monotonic() - _started_at[0]:6.2f}s  {who:<9} {text}", flush=True)


def describe(event: Any) -> str:
    match event:
        case StatusChanged(status=status):
            return f"realtime {status}"
        case SessionUpdated(session=s):
            people = ", ".join(
                f"{p.phone or f'user {p.user_id}'}={p.state}" for p in s.participants
            )
            return f"{s.id[:12]} v{s.version} {s.state:<8} [{people}]"
        case SessionRemoved(session_id=sid, version=v):
            return f"{sid[:12]} gone at v{v}"
        case InviteReceived(invite=i):
            return f"{i.id[:12]} from user {i.inviter.user_id}, expires {i.expires_at:%H:%M:%S}"
        case InviteRemoved(invite_id=iid, state=state):
            return f"{iid[:12]} {state}"
        case ParticipantChanged(participant=p):
            reason = f" ({p.state_reason})" if p.state_reason else ""
            return f"{p.phone or f'user {p.user_id}'} as {p.role}{reason}"
        case DispatchChanged(dispatch=d):
            return f"team {d.team} {d.state}"
        case RecordingChanged(recording=r):
            return f"{r.id[:12]} {r.state}"
    return repr(event)


def show(who: str, client: SessionClient) -> None:
    for name in EVENTS:
        client.on(name, lambda event, name=name: line(who, f"{name:<22} {describe(event)}"))


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    print("starting an embedded Callpad server ...", flush=True)
    async with running_server(offline_answer_delay_s=0.8) as server:
        _started_at[0] = time.monotonic()
        line("server", f"Callpad at {server.base_url} (SQLite, embedded hub, offline media)")
        await server.create_vendor("acme", {AGENT: "agent"})
        customer = await server.session_client(CUSTOMER)
        agent = await server.host_client("acme", AGENT)
        show("customer", customer)
        show("agent", agent)
        await customer.connect()
        await agent.connect()

        line("script", "customer 7 calls agent 42 of acme")
        started = await customer.sessions.start(
            vendor="acme", target={"type": "vendor_user", "user_id": AGENT}, name="Billing question"
        )
        session_id = started.session.id
        invite = await agent.invites.next()
        line(
            "script",
            f"agent sees the invite; may accept: {agent.invites.can(invite, 'accept')}",
        )
        await asyncio.sleep(0.5)
        accepted = await agent.invites.accept(invite)
        assert accepted.join is not None
        line("script", f"agent answers; LiveKit grant for room {accepted.join.room}")

        line("script", f"agent adds {PHONE} to the call")
        await agent.sessions.add_participant(session_id, target={"type": "phone", "phone": PHONE})
        await wait_for(
            agent,
            lambda c: (
                (s := c.sessions.get(session_id)) is not None
                and any(
                    p.phone == PHONE and p.state is ParticipantState.ACCEPTED
                    for p in s.participants
                )
            ),
        )
        line("script", "agent records")
        await agent.sessions.start_recording(session_id)
        await wait_for(
            agent,
            lambda c: (
                (s := c.sessions.get(session_id)) is not None
                and (r := s.live_recording) is not None
                and r.state is RecordingState.ACTIVE
            ),
        )
        await asyncio.sleep(0.5)
        await agent.sessions.stop_recording(session_id)
        line("script", "agent puts the call on hold, then takes it back")
        await agent.sessions.hold(session_id)
        await wait_for(
            customer, lambda c: (s := c.sessions.get(session_id)) and s.state == "on_hold"
        )
        await agent.sessions.unhold(session_id)
        await wait_for(
            customer, lambda c: (s := c.sessions.get(session_id)) and s.state == "active"
        )
        duration = agent.sessions.duration(session_id)
        line("script", f"agent ends the call after {duration}")
        await agent.sessions.end(session_id)
        await wait_for(customer, lambda c: not c.sessions)
        await wait_for(agent, lambda c: not c.sessions)
        await asyncio.sleep(0.3)
        line("script", "done: both stores are empty")


if __name__ == "__main__":
    asyncio.run(main())
