"""`sessions.send_dtmf`: an agent keys digits into a phone leg through the real server;
bad digits (422) and a party that is not a phone (409) are typed errors."""

from __future__ import annotations

import pytest
from farvex import BadRequestError, ConflictError, DtmfSent, ParticipantKind, PhoneTarget
from farvex.testing import CallpadServer, wait_for

AGENT = 42


async def test_an_agent_keys_digits_into_the_answered_phone_leg(
    callpad_server: CallpadServer,
) -> None:
    await callpad_server.create_vendor("acme", {AGENT: "agent"})
    agent = await callpad_server.host_client("acme", AGENT, connect=True, join_media=False)
    started = await agent.sessions.start(target=PhoneTarget(phone="+12025550100"))
    session_id = started.session.id

    def answered_leg(client: object) -> str | None:
        session = agent.sessions.get(session_id)
        legs = (
            [p for p in session.participants if p.kind is ParticipantKind.PHONE] if session else []
        )
        return legs[0].id if legs and legs[0].state == "accepted" else None

    phone_id = await wait_for(agent, answered_leg)
    sent = await agent.sessions.send_dtmf(session_id, participant_id=phone_id, digits="123#")
    assert sent == DtmfSent(participant_id=phone_id, digits="123#")

    with pytest.raises(BadRequestError, match="digits"):
        await agent.sessions.send_dtmf(session_id, participant_id=phone_id, digits="12x")
    me = next(p for p in started.session.participants if p.user_id == AGENT)
    with pytest.raises(ConflictError):
        await agent.sessions.send_dtmf(session_id, participant_id=me.id, digits="1")
