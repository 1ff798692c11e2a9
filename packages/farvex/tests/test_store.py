"""The live store's rules and the events it derives, fed publications as the hub sends them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from callpad.domain import Direction, Invitee, ParticipantKind, RecordingState, Role, Session
from callpad.domain import transitions as t
from callpad.sessions.schemas import InviteView, SessionView
from farvex import (
    Auth,
    ConnectionStatus,
    InviteRemoved,
    ParticipantChanged,
    RecordingChanged,
    SessionClient,
    SessionRemoved,
    SessionUpdated,
    create_session_client,
)
from farvex.testing import handlers_done, publish

AGENT = 42


def call(ring_timeout_s: float = 30, now: datetime | None = None) -> Session:
    """Customer 7 calls agent 42 (host)."""
    return t.start_session(
        session_id="ses_1",
        vendor="acme",
        name="call",
        room="room",
        direction=Direction.INBOUND,
        target={"type": "vendor_user", "user_id": AGENT},
        initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=7),
        initiator_participant_id="par_0",
        invitees=[("par_1", Invitee(ParticipantKind.USER, Role.HOST, user_id=AGENT))],
        ring_timeout_s=ring_timeout_s,
        now=now or datetime.now(UTC),
    )


def upsert(s: Session) -> dict[str, Any]:
    return {"topic": "session.upsert", "data": SessionView.of(s).model_dump(mode="json")}


def invite(s: Session, participant_id: str = "par_1") -> dict[str, Any]:
    p = s.participant(participant_id)
    assert p is not None
    return {"topic": "session.invite.upsert", "data": InviteView.of(s, p).model_dump(mode="json")}


@pytest.fixture
async def agent() -> Any:
    client = create_session_client(
        api_url="http://127.0.0.1:9", user_id=AGENT, auth=Auth(get_access_token=lambda: "t")
    )
    yield client
    await client.dispose()


async def test_an_upsert_applies_only_when_newer(agent: SessionClient) -> None:
    ringing = call()
    active = t.accept(ringing, "par_1", datetime.now(UTC))
    publish(agent, upsert(ringing), upsert(active), upsert(ringing))
    held = agent.sessions.get("ses_1")
    assert held is not None and (held.version, held.state) == (active.version, "active")
    publish(agent, upsert(active))
    assert agent.sessions.list() == [agent.sessions.get("ses_1")]


async def test_remove_drops_the_session_and_its_invites(agent: SessionClient) -> None:
    ringing = call()
    publish(agent, upsert(ringing), invite(ringing))
    assert [i.id for i in agent.invites.list()] == ["inv_1"]
    held = agent.invites.get("inv_1")
    assert held is not None and held.session_id == "ses_1"
    publish(agent, {"topic": "session.remove", "data": {"session_id": "ses_1", "version": 1}})
    assert {x.id: x for x in agent.sessions.list()} == {}
    assert {x.id: x for x in agent.invites.list()} == {}
    publish(agent, upsert(ringing), invite(ringing))  # a late replay changes nothing
    assert {x.id: x for x in agent.sessions.list()} == {} and {
        x.id: x for x in agent.invites.list()
    } == {}


async def test_the_store_is_read_only(agent: SessionClient) -> None:
    publish(agent, upsert(call()))
    held = agent.sessions.get("ses_1")
    assert held is not None
    with pytest.raises(TypeError):
        agent._store.sessions["x"] = held  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        held.name = "renamed"  # type: ignore[misc]


async def test_an_invite_is_dropped_at_expires_at_without_a_removal(agent: SessionClient) -> None:
    removed: list[InviteRemoved] = []
    agent.on("invite.removed", removed.append)
    ringing = call(ring_timeout_s=0.3)
    publish(agent, upsert(ringing), invite(ringing))
    assert "inv_1" in agent.invites
    async with asyncio.timeout(10):
        async for pending in agent.watch(lambda c: len(c.invites)):
            if pending == 0:
                break
    await handlers_done(agent)
    assert [(r.invite_id, r.state) for r in removed] == [("inv_1", "expired")]


async def test_an_already_expired_invite_is_never_stored(agent: SessionClient) -> None:
    ringing = call(ring_timeout_s=1, now=datetime.now(UTC) - timedelta(seconds=5))
    publish(agent, invite(ringing))
    assert {x.id: x for x in agent.invites.list()} == {}


async def test_events_are_derived_from_consecutive_versions(agent: SessionClient) -> None:
    seen: list[tuple[str, Any]] = []
    for name in (
        "session.updated",
        "session.removed",
        "invite.received",
        "invite.removed",
        "participant.accepted",
        "participant.left",
        "recording.started",
        "recording.stopped",
    ):
        agent.on(name, lambda event, name=name: seen.append((name, event)))
    now = datetime.now(UTC)
    s1 = call(now=now)
    s2 = t.accept(s1, "par_1", now)
    s3 = t.start_recording(s2, "par_1", "rec_1", now)
    s4 = t.recording_update(s3, "rec_1", RecordingState.ACTIVE, now)
    s5 = t.stop_recording(s4, "par_1", "rec_1", now)
    s6 = t.leave(s5, "par_0", now)
    publish(agent, upsert(s1), invite(s1), upsert(s2), upsert(s3), upsert(s4), upsert(s5))
    publish(
        agent,
        upsert(s6),
        {"topic": "session.remove", "data": {"session_id": "ses_1", "version": s6.version}},
    )
    await handlers_done(agent)
    names = [name for name, _ in seen]
    assert names == [
        "session.updated",
        "invite.received",
        "session.updated",
        "participant.accepted",
        "invite.removed",
        "session.updated",
        "session.updated",
        "recording.started",
        "session.updated",
        "recording.stopped",
        "session.updated",
        "participant.left",  # the customer hung up
        "participant.left",  # and the call ended for the host
        "session.removed",
    ]
    accepted = seen[3][1]
    assert isinstance(accepted, ParticipantChanged)
    assert (accepted.participant.id, accepted.previous and accepted.previous.state) == (
        "par_1",
        "invited",
    )
    assert isinstance(seen[7][1], RecordingChanged) and seen[7][1].recording.id == "rec_1"
    assert isinstance(seen[-4][1], SessionUpdated) and seen[-4][1].session.state == "ended"
    assert isinstance(seen[-1][1], SessionRemoved) and seen[-1][1].session_id == "ses_1"


async def test_a_raising_handler_is_logged_and_delivery_goes_on(
    agent: SessionClient, caplog: pytest.LogCaptureFixture
) -> None:
    delivered: list[int] = []

    def broken(event: SessionUpdated) -> None:
        raise RuntimeError("handler bug")

    async def working(event: SessionUpdated) -> None:
        delivered.append(event.session.version)

    agent.on("session.updated", broken)
    unsubscribe = agent.on("session.updated", working)
    s1 = call()
    with caplog.at_level(logging.ERROR, logger="farvex"):
        publish(agent, upsert(s1), upsert(t.accept(s1, "par_1", datetime.now(UTC))))
        await handlers_done(agent)
    assert delivered == [1, 2]
    assert sum("handler bug" in r.exc_text for r in caplog.records if r.exc_text) == 2
    unsubscribe()
    agent.off("session.updated", broken)
    publish(
        agent,
        upsert(t.rename(t.accept(s1, "par_1", datetime.now(UTC)), "par_1", "x", datetime.now(UTC))),
    )
    await handlers_done(agent)
    assert delivered == [1, 2]


async def test_watch_yields_each_changed_value_and_ends_on_dispose(agent: SessionClient) -> None:
    s1 = call()
    states: list[str | None] = []

    async def follow() -> None:
        async for state in agent.watch(
            lambda c: s.state if (s := c.sessions.get("ses_1")) else None
        ):
            states.append(state)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0)
    publish(agent, upsert(s1))
    await asyncio.sleep(0.01)
    publish(agent, upsert(t.accept(s1, "par_1", datetime.now(UTC))))
    await asyncio.sleep(0.01)
    await agent.dispose()
    async with asyncio.timeout(5):
        await task
    assert states == [None, "ringing", "active"]
    assert agent.status is ConnectionStatus.DISCONNECTED


async def test_active_and_duration_follow_the_call(agent: SessionClient) -> None:
    now = datetime.now(UTC)
    s1 = call(now=now)
    publish(agent, upsert(s1))
    assert agent.sessions.active is None
    assert agent.sessions.duration("ses_1") is None
    publish(agent, upsert(t.accept(s1, "par_1", now - timedelta(seconds=3))))
    assert agent.sessions.active is not None and agent.sessions.active.id == "ses_1"
    duration = agent.sessions.duration("ses_1")
    # Answered three seconds ago: the duration counts from the answer, not from now.
    assert duration is not None and duration >= timedelta(seconds=3)


def team_call() -> Session:
    """`call()`, with agent 42 rung by a dispatch of a team (not a direct invite)."""
    s = call()
    rung = tuple(
        dataclasses.replace(p, dispatch_id="dsp_1") if p.id == "par_1" else p
        for p in s.participants
    )
    return dataclasses.replace(s, participants=rung)


async def test_a_team_ring_is_an_invite_without_the_session(agent: SessionClient) -> None:
    """An agent a team call rings holds the invite only: the session reaches them once they
    accept. A session view that arrives meanwhile (a re-sync) neither enters the store nor
    drops the invite; the small `session.invite.remove` does."""
    ringing = team_call()
    publish(agent, invite(ringing))
    held = agent.invites.get("inv_1")
    assert held is not None and held.dispatch_id == "dsp_1" and held.session_version == 1
    assert agent.invites.can(held, "accept") and agent.sessions.list() == []
    publish(agent, upsert(ringing))
    assert agent.sessions.list() == [] and [i.id for i in agent.invites.list()] == ["inv_1"]
    removed: list[InviteRemoved] = []
    agent.on("invite.removed", removed.append)
    remove = {"invite_id": "inv_1", "session_id": "ses_1", "participant_id": "par_1"}
    publish(
        agent,
        {
            "topic": "session.invite.remove",
            "data": remove | {"state": "withdrawn", "state_reason": "answered_elsewhere"},
        },
    )
    assert agent.invites.list() == []
    await handlers_done(agent)
    assert [(r.state, r.reason, r.session) for r in removed] == [
        ("withdrawn", "answered_elsewhere", None)
    ]
    answered = t.accept(ringing, "par_1", datetime.now(UTC))
    publish(agent, upsert(answered))  # had it answered, the session is theirs
    assert [s.id for s in agent.sessions.list()] == ["ses_1"]


async def test_a_feed_reader_removed_from_a_session_still_sees_it_until_it_ends(
    agent: SessionClient,
) -> None:
    owner = create_session_client(
        api_url="http://127.0.0.1:9", user_id=9, auth=Auth(get_access_token=lambda: "t")
    )
    try:
        now = datetime.now(UTC)
        active = t.accept(call(), "par_1", now)
        owner_invitee = Invitee(ParticipantKind.USER, Role.AGENT, user_id=9, member=True)
        rung = t.add_participant(active, "par_1", "par_2", owner_invitee, now)
        withdrawn = t.remove_participant(rung, "par_1", "par_2", now)
        gone = {"session_id": "ses_1", "version": withdrawn.version}
        # What the owner's own channel says (upsert, then remove), the feed's copy after it.
        publish(owner, upsert(rung), channel="vendor:acme")
        publish(owner, upsert(rung), upsert(withdrawn), {"topic": "session.remove", "data": gone})
        publish(owner, upsert(withdrawn), channel="vendor:acme")
        held = owner.sessions.get("ses_1")
        assert held is not None and held.version == withdrawn.version
        # The remove may also arrive before the feed's upsert of the same version.
        publish(owner, {"topic": "session.remove", "data": gone})
        assert owner.sessions.get("ses_1") is not None
        ended = t.end(withdrawn, "par_1", now)
        publish(
            owner,
            upsert(ended),
            {"topic": "session.remove", "data": {"session_id": "ses_1", "version": ended.version}},
        )
        assert owner.sessions.get("ses_1") is None
    finally:
        await owner.dispose()
