"""Session use cases: resolve who and what, run the domain, store, emit events and media work.

Services never commit: callers hand them a connection inside a write transaction, and the
change, its outbox events and its media jobs commit together or not at all. Each
transaction reads what it needs once: the session with its vendor in one query, the
vendor roles of the users involved in another.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from ..admin.repository import VendorRow, get_contact, get_vendor_with_roles, member_roles
from ..admin.service import MANAGER_ROLES, require_vendor
from ..context import DISPATCH_QUEUE_CHANGED, AppContext
from ..dispatch import repository as dispatch_repo
from ..dispatch.service import advance_dispatches, estimated_wait, team_policy
from ..domain import (
    ROOM_PREFIX,
    Direction,
    DispatchState,
    Invitee,
    Participant,
    ParticipantKind,
    ParticipantState,
    RecordingFile,
    RecordingState,
    Role,
    Session,
    SipLegState,
    call_endings,
    dispatch_changes,
    media_commands,
    members_freed,
)
from ..domain import transitions as t
from ..media.base import MediaUnavailable
from ..media.grants import JoinGrant, mint_join_grant
from ..media.jobs import schedule_commands
from ..metrics import OUTBOX_EVENTS, SESSION_CHANGES, SESSIONS_STARTED
from ..phone import normalize_phone
from ..presence.repository import record_call_endings
from ..problems import Problem, ProblemCode
from ..realtime.outbox import write_events
from . import repository as repo
from .events import session_events
from .schemas import (
    ContactTarget,
    CustomerTarget,
    PhoneTarget,
    SessionView,
    Target,
    TeamTarget,
    VendorUserTarget,
)

__all__ = [
    "Action",
    "MemberRoles",
    "Step",
    "add_participant",
    "apply_media_report",
    "expire_dispatch",
    "expire_invite",
    "fresh_join",
    "get_visible",
    "mutate",
    "place_in_queue",
    "require_vendor",
    "resolve_target",
    "serve_queued_dispatch",
    "start",
]

# An action: (session, the caller's participant or None, now) -> the changed session.
Action = Callable[[Session, Participant | None, datetime], Session]
# A transition taking the acting participant's id: `transitions.accept`, `.end`, ...
Step = Callable[[Session, str, datetime], Session]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class MemberRoles:
    """The vendor roles of the users one transaction deals with, each looked up once."""

    def __init__(self, vendor_id: int, known: dict[int, str | None] | None = None) -> None:
        self.vendor_id = vendor_id
        self._known: dict[int, str | None] = dict(known or {})

    async def load(self, conn: AsyncConnection, user_ids: Iterable[int]) -> MemberRoles:
        missing = {u for u in user_ids if u not in self._known}
        if missing:
            found = await member_roles(conn, self.vendor_id, missing)
            self._known.update({u: found.get(u) for u in missing})
        return self

    def of(self, user_id: int) -> str | None:
        """The role of a loaded user; None for a non-member."""
        return self._known[user_id]


async def _load_visible(
    conn: AsyncConnection, vendor_slug: str, session_id: str, user_id: int, *, lock: bool
) -> tuple[VendorRow, Session, MemberRoles]:
    """The session, if the user takes part in it or administers its vendor; else 404
    (`vendor_not_found` for an unknown vendor, `session_not_found` for the rest)."""
    found = await repo.load_vendor_session(conn, vendor_slug, session_id, for_update=lock)
    if found is None:
        await require_vendor(conn, vendor_slug)
        raise Problem(404, ProblemCode.SESSION_NOT_FOUND, "No such session.")
    vendor, session = found
    roles = MemberRoles(vendor.id)
    if not session.participants_of_user(user_id):
        await roles.load(conn, {user_id})
        if roles.of(user_id) not in MANAGER_ROLES:
            raise Problem(404, ProblemCode.SESSION_NOT_FOUND, "No such session.")
    return vendor, session, roles


async def get_visible(
    conn: AsyncConnection, vendor_slug: str, session_id: str, user_id: int
) -> Session:
    """The session, if the user takes part in it or administers its vendor; else 404."""
    _vendor, session, _roles = await _load_visible(
        conn, vendor_slug, session_id, user_id, lock=False
    )
    return session


def acting_participant(session: Session, user_id: int) -> Participant | None:
    """The caller's place in the session: a live participant first, then the latest."""
    mine = session.participants_of_user(user_id)
    live = [p for p in mine if p.is_live]
    candidates = live or list(mine)
    return candidates[-1] if candidates else None


def _target_user(target: Target) -> set[int]:
    return {target.user_id} if isinstance(target, VendorUserTarget | CustomerTarget) else set()


async def resolve_target(
    conn: AsyncConnection, vendor: VendorRow, roles: MemberRoles, caller: int, target: Target
) -> Invitee:
    """Who a target rings, and as what. Customers may only ring the vendor's members.
    `roles` must hold the caller and the target's user. Teams are rung by a dispatch."""
    assert not isinstance(target, TeamTarget)
    if isinstance(target, VendorUserTarget):
        if target.user_id == caller:
            raise Problem(422, ProblemCode.INVALID_TARGET, "You cannot call yourself.")
        if roles.of(target.user_id) is None:
            raise Problem(
                422,
                ProblemCode.INVALID_TARGET,
                f"User {target.user_id} is not a member of {vendor.slug!r}.",
            )
        return Invitee(ParticipantKind.USER, Role.AGENT, user_id=target.user_id, member=True)
    if roles.of(caller) is None:
        raise Problem(
            403,
            ProblemCode.TARGET_NOT_ALLOWED,
            f"Only members of {vendor.slug!r} may call a {target.type} target.",
        )
    if isinstance(target, CustomerTarget):
        if target.user_id == caller:
            raise Problem(422, ProblemCode.INVALID_TARGET, "You cannot call yourself.")
        member = roles.of(target.user_id) is not None
        return Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=target.user_id, member=member)
    if isinstance(target, ContactTarget):
        contact = await get_contact(conn, vendor.id, target.contact_id)
        if contact is None:
            raise Problem(404, ProblemCode.CONTACT_NOT_FOUND, "No such contact.")
        if contact.user_id is not None:
            await roles.load(conn, {contact.user_id})
            return Invitee(
                ParticipantKind.USER,
                Role.CUSTOMER,
                user_id=contact.user_id,
                contact_id=contact.id,
                member=roles.of(contact.user_id) is not None,
            )
        if contact.phone is None:
            raise Problem(422, ProblemCode.INVALID_TARGET, "The contact has no phone or user.")
        return Invitee(
            ParticipantKind.PHONE, Role.GUEST, phone=contact.phone, contact_id=contact.id
        )
    assert isinstance(target, PhoneTarget)
    return Invitee(ParticipantKind.PHONE, Role.GUEST, phone=normalize_phone(target.phone))


async def start(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    user_id: int,
    target: Target,
    name: str,
    now: datetime,
) -> Session:
    """A new ringing session with the caller accepted (their join grant comes from
    `fresh_join`, out of the transaction)."""
    involved = {user_id} | _target_user(target)
    found = await get_vendor_with_roles(conn, vendor_slug, involved)
    if found is None:
        raise Problem(404, ProblemCode.VENDOR_NOT_FOUND, f"No vendor {vendor_slug!r}.")
    vendor, member_of = found
    roles = MemberRoles(vendor.id, {u: member_of.get(u) for u in involved})
    session_id = new_id("ses")
    team = None
    invitees = []
    if isinstance(target, TeamTarget):
        team = (new_id("dsp"), target.team, await team_policy(conn, vendor, target.team))
    else:
        invitees.append((new_id("par"), await resolve_target(conn, vendor, roles, user_id, target)))
    caller_role = roles.of(user_id)
    if caller_role is None:
        direction = Direction.INBOUND
    elif isinstance(target, VendorUserTarget | TeamTarget):
        direction = Direction.INTERNAL
    else:
        direction = Direction.OUTBOUND
    initiator_id = new_id("par")
    session = t.start_session(
        session_id=session_id,
        vendor=vendor.slug,
        name=name,
        room=ROOM_PREFIX + session_id,
        direction=direction,
        target=target.model_dump(),
        initiator=Invitee(
            ParticipantKind.USER,
            Role.HOST if caller_role else Role.CUSTOMER,
            user_id=user_id,
            member=caller_role is not None,
        ),
        initiator_participant_id=initiator_id,
        invitees=invitees,
        ring_timeout_s=vendor.ring_timeout_s,
        now=now,
        team=team,
    )
    session = await advance_dispatches(conn, vendor.id, None, session, now)
    await repo.insert_session(conn, vendor.id, session)
    _flag_queue(conn, None, session)
    await _emit(ctx, conn, None, session, now)
    try:
        await ctx.media.open_room(session)
    except MediaUnavailable as exc:
        raise Problem(503, ProblemCode.MEDIA_UNAVAILABLE, str(exc)) from exc
    return session


async def mutate(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    action: Action,
    now: datetime,
    *,
    if_match: int | None = None,
) -> Session:
    """Run `action` as the caller on the locked session and store what changed."""
    vendor, before, _roles = await _load_visible(conn, vendor_slug, session_id, user_id, lock=True)
    return await _apply(ctx, conn, vendor, before, user_id, action, now, if_match)


async def add_participant(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    target: Target,
    now: datetime,
    *,
    if_match: int | None = None,
) -> Session:
    """Ring another party into the session (hosts)."""
    vendor, before, roles = await _load_visible(conn, vendor_slug, session_id, user_id, lock=True)
    if isinstance(target, TeamTarget):
        policy = await team_policy(conn, vendor, target.team)
        dispatch_id, team = new_id("dsp"), target.team

        def ring_team(session: Session, actor: Participant | None, now: datetime) -> Session:
            actor_id = actor.id if actor else ""
            return t.add_team(session, actor_id, dispatch_id, team, policy, now)

        return await _apply(ctx, conn, vendor, before, user_id, ring_team, now, if_match)
    await roles.load(conn, {user_id} | _target_user(target))
    invitee = await resolve_target(conn, vendor, roles, user_id, target)
    participant_id = new_id("par")

    def action(session: Session, actor: Participant | None, now: datetime) -> Session:
        return t.add_participant(session, actor.id if actor else "", participant_id, invitee, now)

    return await _apply(ctx, conn, vendor, before, user_id, action, now, if_match)


async def _apply(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor: VendorRow,
    before: Session,
    user_id: int,
    action: Action,
    now: datetime,
    if_match: int | None,
) -> Session:
    if if_match is not None and if_match != before.version:
        raise Problem(
            412,
            ProblemCode.VERSION_MISMATCH,
            f"The session is at version {before.version}, not {if_match}.",
            session=SessionView.of(before).model_dump(mode="json"),
        )
    after = action(before, acting_participant(before, user_id), now)
    if after is before:
        return before
    return await _store(ctx, conn, vendor.id, before, after, now)


async def _store(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_id: int,
    before: Session,
    after: Session,
    now: datetime,
) -> Session:
    """Save a change made under the session lock, with what follows from it in the same
    transaction: the next step of its dispatches, the agents' call endings, its events."""
    after = await advance_dispatches(conn, vendor_id, before, after, now)
    await repo.save_session(conn, vendor_id, before, after, now)
    await record_call_endings(conn, vendor_id, call_endings(before, after), now)
    _flag_queue(conn, before, after)
    await _emit(ctx, conn, before, after, now)
    return after


def _flag_queue(conn: AsyncConnection, before: Session | None, after: Session) -> None:
    """Wake the dispatch queue after the commit if this change may move it."""
    queue_moved = any(
        d.state is DispatchState.QUEUED
        or (
            before is not None
            and (old := before.dispatch(d.id)) is not None
            and old.state is DispatchState.QUEUED
        )
        for d in dispatch_changes(before, after)
    )
    if queue_moved or members_freed(before, after):
        conn.info[DISPATCH_QUEUE_CHANGED] = True


def own_invite(participant_id: str, user_id: int, step: Step) -> Action:
    """An action on the caller's own invite (accept, reject)."""

    def action(session: Session, _actor: Participant | None, now: datetime) -> Session:
        participant = session.participant(participant_id)
        if participant is None:
            raise Problem(404, ProblemCode.PARTICIPANT_NOT_FOUND, "No such participant.")
        if participant.user_id != user_id:
            raise Problem(403, ProblemCode.FORBIDDEN, "This invite is for another user.")
        return step(session, participant_id, now)

    return action


def fresh_join(ctx: AppContext, session: Session, user_id: int, now: datetime) -> JoinGrant:
    participant = acting_participant(session, user_id)
    if participant is None or participant.state is not ParticipantState.ACCEPTED:
        raise Problem(
            409, ProblemCode.INVALID_STATE, "Only an accepted participant may join the room."
        )
    if session.end_reason is not None:
        raise Problem(409, ProblemCode.SESSION_ENDED, "The session has ended.")
    return mint_join_grant(ctx.settings, session, participant, now)


async def expire_invite(
    ctx: AppContext, conn: AsyncConnection, session_id: str, participant_id: str, now: datetime
) -> bool:
    """Ring timeout for one participant; False when it was already answered or expired."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    if stored is None:
        return False
    before = stored.session
    after = t.expire_invite(before, participant_id, now)
    if after is before:
        return False
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return True


async def expire_dispatch(
    ctx: AppContext, conn: AsyncConnection, session_id: str, dispatch_id: str, now: datetime
) -> bool:
    """Dispatch timeout or maximum queue wait; False when it was already answered,
    cancelled, dequeued or expired (another process may have got there first)."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    if stored is None:
        return False
    before = stored.session
    after = t.expire_dispatch(before, dispatch_id, now)
    if after is before:
        return False
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return True


async def serve_queued_dispatch(
    ctx: AppContext, conn: AsyncConnection, session_id: str, dispatch_id: str, now: datetime
) -> Literal["served", "nobody", "gone"]:
    """Ring a queued call's team again if one of its agents is free now: `served`;
    `nobody` free (it keeps its place); `gone` from the queue already."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    dispatch = stored.session.dispatch(dispatch_id) if stored else None
    if stored is None or dispatch is None or dispatch.state is not DispatchState.QUEUED:
        return "gone"
    before = stored.session
    agents = await dispatch_repo.available_agents(
        conn,
        stored.vendor_id,
        dispatch.team,
        dispatch.policy.max_concurrent_calls,
        now,
        lock=conn.dialect.name != "sqlite",
    )
    in_session = {p.user_id for p in before.participants if p.is_live}
    if not any(a.user_id not in in_session for a in agents):
        return "nobody"
    after = t.dequeue_dispatch(before, dispatch_id, now)
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return "served"


async def place_in_queue(
    ctx: AppContext,
    conn: AsyncConnection,
    session_id: str,
    dispatch_id: str,
    position: int,
    now: datetime,
) -> bool:
    """Show a queued caller their place and estimated wait; False if unchanged or gone."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    dispatch = stored.session.dispatch(dispatch_id) if stored else None
    if stored is None or dispatch is None or dispatch.state is not DispatchState.QUEUED:
        return False
    wait = await estimated_wait(conn, stored.vendor_id, dispatch.team, position)
    before = stored.session
    after = t.place_in_queue(before, dispatch_id, position, wait, now)
    if after is before:
        return False
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return True


async def apply_media_report(
    ctx: AppContext, conn: AsyncConnection, session_id: str, report: dict[str, Any], now: datetime
) -> bool:
    """What the media layer observed (a phone leg, an egress, a room member), applied."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    if stored is None:
        return False
    before = stored.session
    kind = report.get("type")
    if kind == "sip":
        status = report.get("sip_status")
        after = t.sip_leg_update(
            before,
            report["participant_id"],
            SipLegState(report["state"]),
            now,
            reason=t.reason_for_sip_status(status) if isinstance(status, int) else None,
            error=report.get("error"),
        )
    elif kind == "recording":
        after = t.recording_update(
            before,
            report["recording_id"],
            RecordingState(report["state"]),
            now,
            report.get("error"),
        )
    elif kind == "recording_saved":
        file = RecordingFile(
            duration_s=float(report["duration_s"]),
            size_bytes=int(report["size_bytes"]),
            format=str(report["format"]),
        )
        after = t.recording_saved(before, report["recording_id"], file, now)
    elif kind == "connected":
        after = t.set_connected(before, report["participant_id"], bool(report["connected"]), now)
    elif kind == "room_joined":
        at = datetime.fromisoformat(report["at"])
        after = t.room_joined(before, report["participant_id"], report["sid"], at)
    elif kind == "room_left":
        after = t.room_left(before, report["participant_id"], report["sid"], now)
    elif kind == "room_audio":
        known = before.participant(report["participant_id"]) is not None
        at = datetime.fromisoformat(report["at"])
        after = t.room_audio_started(before, at) if known else before
    elif kind == "room_finished":
        after = t.room_closed(before, now, end=ctx.settings.livekit_end_sessions_with_room)
    else:
        raise ValueError(f"unknown media report {kind!r}")
    if after is before:
        return False
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return True


async def _emit(
    ctx: AppContext,
    conn: AsyncConnection,
    before: Session | None,
    after: Session,
    now: datetime,
) -> None:
    """The change's realtime events, and the media work its backend acts on."""
    written = await write_events(conn, session_events(before, after), now)
    SESSION_CHANGES.inc()
    OUTBOX_EVENTS.inc(written)
    if before is None:
        SESSIONS_STARTED.inc()
    commands = [c for c in media_commands(before, after) if c.action in ctx.media.actions]
    await schedule_commands(conn, after.id, commands, now)
