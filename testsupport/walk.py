"""Random walks through the pure domain: one step at a time, as the server would take
it (property tests of the server's rules and the SDK's `can()`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from callpad.domain import (
    DispatchPolicy,
    DispatchStrategy,
    Invitee,
    ParticipantKind,
    RecordingState,
    Role,
    Session,
    SipLegState,
    StateReason,
)
from callpad.domain import dispatch as dispatch_steps
from callpad.domain import transitions as t

__all__ = ["WALK_ACTIONS", "walk_step"]

WALK_ACTIONS = (
    "accept",
    "reject",
    "leave",
    "cancel",
    "end",
    "hold",
    "unhold",
    "rename",
    "add_user",
    "add_phone",
    "remove",
    "start_recording",
    "stop_recording",
    "recording_active",
    "expire",
    "sip_answer",
    "sip_busy",
    "sip_hangup",
    "ring_team",
    "ring_team_sequential",
    "dispatch_step",
    "dispatch_timeout",
    "dequeue",
)
# Team agents a walk's dispatches may ring (and which are free at a step: see below).
_WALK_TEAM = (300, 301, 302, 303)
_WALK_ROLES = (Role.HOST, Role.AGENT, Role.CUSTOMER, Role.GUEST)


def walk_step(
    session: Session, action: str, who: int, other: int, n: int, now: datetime
) -> Session:
    """One step of a random walk: `action` (one of `WALK_ACTIONS`) by the participant at
    index `who`, on the one at `other` (both modulo their number); `n` makes new ids and
    names unique. Raises `DomainError` where the domain refuses, as the server would.
    Like the server, a step is followed by the next step of any dispatch it left with
    nobody ringing."""
    changed = _walk_action(session, action, who, other, n, now)
    if changed is session:
        return session
    for d in dispatch_steps.needing_agents(changed):
        changed = t.advance_dispatch(session, changed, d.id, _free(n + 1), _ids(n + 1), now)
    return changed


def _walk_action(
    session: Session, action: str, who: int, other: int, n: int, now: datetime
) -> Session:
    pids = [p.id for p in session.participants]
    actor, target = pids[who % len(pids)], pids[other % len(pids)]
    if action in _MEDIA_ACTIONS:
        return _walk_media(session, action, actor, target, n, now)
    if action in _DISPATCH_ACTIONS:
        return _walk_dispatch(session, action, actor, n, now)
    match action:
        case "accept" | "reject" | "leave" | "cancel" | "end" | "hold" | "unhold":
            step = getattr(t, action)
            changed: Session = step(session, actor, now)
            return changed
        case "rename":
            return t.rename(session, actor, f"name {n}", now)
        case "add_user":
            invitee = Invitee(ParticipantKind.USER, _WALK_ROLES[n % 4], user_id=200 + n)
            return t.add_participant(session, actor, f"par_u{n}", invitee, now)
        case "add_phone":
            phone = Invitee(ParticipantKind.PHONE, Role.GUEST, phone=f"+1202555{n:04d}")
            return t.add_participant(session, actor, f"par_p{n}", phone, now)
        case "remove":
            return t.remove_participant(session, actor, target, now)
        case "expire":
            return t.expire_invite(session, target, now + timedelta(hours=1))
    raise ValueError(f"unknown walk action {action!r}")


_MEDIA_ACTIONS = frozenset(
    {
        "start_recording",
        "stop_recording",
        "recording_active",
        "sip_answer",
        "sip_busy",
        "sip_hangup",
    }
)


def _walk_media(
    session: Session, action: str, actor: str, target: str, n: int, now: datetime
) -> Session:
    """Recordings asked for by a party and reported by media; phone legs' progress."""
    live = session.live_recording
    match action:
        case "start_recording":
            return t.start_recording(session, actor, f"rec_{n}", now)
        case "stop_recording":
            return t.stop_recording(session, actor, live.id if live else "rec_none", now)
        case "recording_active":
            if live is None:
                return session
            return t.recording_update(session, live.id, RecordingState.ACTIVE, now)
        case "sip_answer":
            return t.sip_leg_update(session, target, SipLegState.ANSWERED, now)
        case "sip_busy":
            return t.sip_leg_update(
                session, target, SipLegState.FAILED, now, reason=StateReason.BUSY
            )
        case _:  # "sip_hangup"
            return t.sip_leg_update(session, target, SipLegState.ENDED, now)


_DISPATCH_ACTIONS = frozenset(
    {"ring_team", "ring_team_sequential", "dispatch_step", "dispatch_timeout", "dequeue"}
)


def _walk_dispatch(session: Session, action: str, actor: str, n: int, now: datetime) -> Session:
    """A host escalating to a team, and what the server does next for an open dispatch."""
    if action in ("ring_team", "ring_team_sequential"):
        # The first step rings whoever of the team is free (none at all every third time:
        # the dispatch queues).
        strategy = (
            DispatchStrategy.SEQUENTIAL
            if action == "ring_team_sequential"
            else DispatchStrategy.PARALLEL
        )
        policy = DispatchPolicy(strategy=strategy, max_rounds=1 + n % 2)
        opened = t.add_team(session, actor, f"dsp_{n}", f"team{n % 2}", policy, now)
        return t.advance_dispatch(session, opened, f"dsp_{n}", _free(n), _ids(n), now)
    for d in session.open_dispatches:
        if action == "dispatch_step":  # whatever the service would do next
            return t.advance_dispatch(session, session, d.id, _free(n), _ids(n), now)
        if action == "dispatch_timeout":
            return t.expire_dispatch(session, d.id, now + timedelta(hours=1))
        dequeued = t.dequeue_dispatch(session, d.id, now)  # "dequeue"
        return t.advance_dispatch(session, dequeued, d.id, _free(n), _ids(n), now)
    return session


def _free(n: int) -> list[int]:
    """The team agents free at step `n`: all, some, or none."""
    return list(_WALK_TEAM[: (n * 7) % (len(_WALK_TEAM) + 1)])


def _ids(n: int) -> Iterator[str]:
    return (f"par_d{n}_{i}" for i in range(len(_WALK_TEAM) * 2))
