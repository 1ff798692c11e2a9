"""Session use cases, one function each: resolve who and what, run one domain transition,
store it, and emit its events and media work.

Services never commit: callers hand them a connection inside a write transaction, and the
change, its outbox events and its media jobs commit together or not at all. Each
transaction reads what it needs once: the session with its vendor in one query, the
vendor roles of the users involved in another.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, assert_never

from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import AppContext
from ..db.transaction import after_commit
from ..dispatch import repository as dispatch_repo
from ..dispatch.service import advance_dispatches, estimated_wait, team_policy
from ..domain import (
    ROOM_PREFIX,
    Direction,
    DispatchState,
    Invitee,
    MediaCommand,
    ParticipantKind,
    RecordingFile,
    Role,
    Session,
    SessionState,
    call_endings,
    dispatch_changes,
    media_commands,
    members_freed,
    targets,
)
from ..domain import transitions as t
from ..media.base import MediaUnavailable
from ..media.grants import JoinGrant, mint_join_grant
from ..media.jobs import schedule_commands
from ..media.reports import (
    ConnectedReport,
    RecordingReport,
    RecordingSavedReport,
    RecordingStartDeadlineReport,
    Report,
    RoomAudioReport,
    RoomFinishedReport,
    RoomJoinedReport,
    RoomLeftReport,
    SipCheckReport,
    SipReport,
)
from ..metrics import OUTBOX_EVENTS, SESSION_CHANGES, SESSIONS_STARTED
from ..phone import normalize_phone
from ..presence.repository import record_call_endings
from ..problems import Problem, ProblemCode
from ..realtime.outbox import write_events
from ..vendors import (
    MANAGER_ROLES,
    MemberRole,
    VendorRow,
    get_contact,
    get_vendor_with_roles,
    member_roles,
    require_vendor,
    session_ends_with_room,
)
from . import repository as repo
from .events import session_events
from .repository import ListStatus
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
    "SessionResult",
    "accept_invite",
    "add_participant",
    "apply_media_report",
    "cancel_session",
    "end_session",
    "expire_dispatch",
    "expire_invite",
    "get_session",
    "hold_session",
    "join_grant",
    "join_session",
    "leave_session",
    "list_my_sessions",
    "list_sessions",
    "pending_invites",
    "place_in_queue",
    "reject_invite",
    "remove_participant",
    "rename_session",
    "serve_queued_dispatch",
    "start_recording",
    "start_session",
    "stop_recording",
    "unhold_session",
]

# A change to a loaded session: (session, the caller's participant id or "", now) -> after.
Change = Callable[[Session, str, datetime], Session]


@dataclass(frozen=True, slots=True)
class SessionResult:
    """What a caller's use case answers with: the session as stored, and its view. For a
    change, the view is the very object its events were built from, handed on so the
    response does not build it again (a team call's view has hundreds of participants)."""

    session: Session
    view: SessionView


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# -- reads ------------------------------------------------------------------------------


async def get_session(
    conn: AsyncConnection, vendor_slug: str, session_id: str, user_id: int
) -> Session:
    """The session, if the user takes part in it or administers its vendor; else 404."""
    _vendor, session, _roles = await _load_visible(
        conn, vendor_slug, session_id, user_id, lock=False
    )
    return session


async def list_sessions(
    conn: AsyncConnection,
    vendor_slug: str,
    user_id: int,
    status: ListStatus,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[Session]:
    """The vendor's sessions, newest first (after the key `after`): all of them for
    owners and admins, else the caller's own."""
    vendor = await require_vendor(conn, vendor_slug)
    roles = await member_roles(conn, vendor.id, {user_id})
    manager = roles.get(user_id) in MANAGER_ROLES
    return await repo.list_sessions(
        conn,
        vendor_id=vendor.id,
        user_id=None if manager else user_id,
        status=status,
        limit=limit,
        after=after,
    )


async def list_my_sessions(
    conn: AsyncConnection,
    user_id: int,
    status: ListStatus,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[Session]:
    """The caller's sessions across every vendor, newest first (after the key `after`)."""
    return await repo.list_sessions(
        conn, vendor_id=None, user_id=user_id, status=status, limit=limit, after=after
    )


async def pending_invites(
    conn: AsyncConnection,
    user_id: int,
    vendor_slug: str | None,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[repo.PendingInvite]:
    """The caller's pending invite rows (from one vendor, or from all), oldest first."""
    vendor_id = (await require_vendor(conn, vendor_slug)).id if vendor_slug else None
    return await repo.pending_invites(conn, user_id, vendor_id, limit=limit, after=after)


def join_grant(ctx: AppContext, session: Session, user_id: int, now: datetime) -> JoinGrant:
    """A media grant for the caller's accepted participant (minted out of any transaction)."""
    return mint_join_grant(ctx.settings, session, t.joining_participant(session, user_id), now)


async def join_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
) -> JoinGrant:
    """A fresh media grant for the caller's accepted participant."""
    return join_grant(ctx, await get_session(conn, vendor_slug, session_id, user_id), user_id, now)


# -- changes by a caller ----------------------------------------------------------------


async def start_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    user_id: int,
    target: Target,
    name: str,
    now: datetime,
) -> SessionResult:
    """A new ringing session with the caller accepted (their join grant comes from
    `join_grant`, out of the transaction). A team target starts a dispatch instead of
    ringing one invitee."""
    involved = {user_id} | _target_user(target)
    found = await get_vendor_with_roles(conn, vendor_slug, involved)
    if found is None:
        raise Problem(404, ProblemCode.VENDOR_NOT_FOUND, f"No vendor {vendor_slug!r}.")
    vendor, member_of = found
    roles = _MemberRoles(vendor.id, {u: member_of.get(u) for u in involved})
    session_id = new_id("ses")
    team = None
    invitees = []
    if isinstance(target, TeamTarget):
        team = (new_id("dsp"), target.team, await team_policy(conn, vendor, target.team))
    else:
        invitee = await _resolve_target(conn, vendor, roles, user_id, target)
        invitees.append((new_id("par"), invitee))
    caller_role = roles.of(user_id)
    if caller_role is None:
        direction = Direction.INBOUND
    elif isinstance(target, VendorUserTarget | TeamTarget):
        direction = Direction.INTERNAL
    else:
        direction = Direction.OUTBOUND
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
        initiator_participant_id=new_id("par"),
        invitees=invitees,
        ring_timeout_s=vendor.ring_timeout_s,
        now=now,
        team=team,
    )
    session = await advance_dispatches(conn, vendor.id, None, session, now)
    await repo.insert_session(conn, vendor.id, session)
    _flag_queue(conn, None, session)
    view = await _emit(ctx, conn, None, session, now)
    try:
        await ctx.media.open_room(session)
    except MediaUnavailable as exc:
        raise Problem(503, ProblemCode.MEDIA_UNAVAILABLE, str(exc)) from exc
    return SessionResult(session, view)


async def rename_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    name: str,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Rename the session (hosts)."""

    def change(session: Session, actor: str, now: datetime) -> Session:
        return t.rename(session, actor, name, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


async def accept_invite(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    participant_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Answer the caller's own invite. Of several racing accepts exactly one wins."""

    def change(session: Session, _actor: str, now: datetime) -> Session:
        t.check_own_invite(session, participant_id, user_id)
        return t.accept(session, participant_id, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


async def reject_invite(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    participant_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Decline the caller's own invite."""

    def change(session: Session, _actor: str, now: datetime) -> Session:
        t.check_own_invite(session, participant_id, user_id)
        return t.reject(session, participant_id, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


async def leave_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Leave the session; it ends when fewer than two remain."""
    return await _change(ctx, conn, vendor_slug, session_id, user_id, t.leave, now, if_match)


async def cancel_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Hang up while ringing (the initiator): the session ends cancelled."""
    return await _change(ctx, conn, vendor_slug, session_id, user_id, t.cancel, now, if_match)


async def end_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """End the session for everyone (hosts)."""
    return await _change(ctx, conn, vendor_slug, session_id, user_id, t.end, now, if_match)


async def hold_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Put the session on hold (hosts)."""
    return await _change(ctx, conn, vendor_slug, session_id, user_id, t.hold, now, if_match)


async def unhold_session(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Take the session off hold (hosts)."""
    return await _change(ctx, conn, vendor_slug, session_id, user_id, t.unhold, now, if_match)


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
) -> SessionResult:
    """Ring another party into the session (hosts); a team target starts a dispatch."""
    vendor, before, roles = await _load_visible(conn, vendor_slug, session_id, user_id, lock=True)
    if isinstance(target, TeamTarget):
        policy = await team_policy(conn, vendor, target.team)
        dispatch_id, team = new_id("dsp"), target.team

        def ring_team(session: Session, actor: str, now: datetime) -> Session:
            return t.add_team(session, actor, dispatch_id, team, policy, now)

        return await _apply(ctx, conn, vendor, before, user_id, ring_team, now, if_match)
    await roles.load(conn, {user_id} | _target_user(target))
    invitee = await _resolve_target(conn, vendor, roles, user_id, target)
    participant_id = new_id("par")

    def change(session: Session, actor: str, now: datetime) -> Session:
        return t.add_participant(session, actor, participant_id, invitee, now)

    return await _apply(ctx, conn, vendor, before, user_id, change, now, if_match)


async def remove_participant(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    participant_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Remove a participant, or stop ringing them (hosts)."""

    def change(session: Session, actor: str, now: datetime) -> Session:
        return t.remove_participant(session, actor, participant_id, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


async def send_dtmf(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    participant_id: str,
    user_id: int,
    digits: str,
    now: datetime,
) -> MediaCommand:
    """Key digits into an answered phone leg (hosts and agents): a durable media job, in
    this transaction; the session itself does not change."""
    _vendor, session, _roles = await _load_visible(
        conn, vendor_slug, session_id, user_id, lock=False
    )
    actor = session.acting_participant(user_id)
    command = t.send_dtmf(session, actor.id if actor else "", participant_id, digits)
    if command.action in ctx.media.actions:  # offline media has no phone line to key into
        await schedule_commands(conn, session.id, [command], now)
    return command


async def start_recording(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Start recording (hosts); `starting` until the media backend reports it active."""
    recording_id = new_id("rec")

    def change(session: Session, actor: str, now: datetime) -> Session:
        return t.start_recording(session, actor, recording_id, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


async def stop_recording(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    recording_id: str,
    user_id: int,
    now: datetime,
    *,
    if_match: int | None = None,
) -> SessionResult:
    """Stop a recording (hosts)."""

    def change(session: Session, actor: str, now: datetime) -> Session:
        return t.stop_recording(session, actor, recording_id, now)

    return await _change(ctx, conn, vendor_slug, session_id, user_id, change, now, if_match)


# -- changes by the server itself -------------------------------------------------------


async def expire_dispatch(
    ctx: AppContext, conn: AsyncConnection, session_id: str, dispatch_id: str, now: datetime
) -> bool:
    """Dispatch timeout or maximum queue wait; False when it was already answered,
    cancelled, dequeued or expired (another process may have got there first)."""

    def change(session: Session, now: datetime) -> Session:
        return t.expire_dispatch(session, dispatch_id, now)

    return await _change_by_server(ctx, conn, session_id, change, now)


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


async def expire_invite(
    ctx: AppContext, conn: AsyncConnection, session_id: str, participant_id: str, now: datetime
) -> bool:
    """Ring timeout for one participant; False when it was already answered or expired."""

    def change(session: Session, now: datetime) -> Session:
        return t.expire_invite(session, participant_id, now)

    return await _change_by_server(ctx, conn, session_id, change, now)


async def apply_media_report(
    ctx: AppContext, conn: AsyncConnection, session_id: str, report: Report, now: datetime
) -> bool:
    """What the media layer observed (a phone leg, a recording, a room member), applied."""
    if isinstance(report, SipCheckReport):
        await _check_sip_leg_again(ctx, conn, session_id, report.participant_id, now)
        return False
    end_with_room = ctx.settings.livekit_end_sessions_with_room  # vendors that did not choose
    if isinstance(report, RoomFinishedReport):
        chosen = await session_ends_with_room(conn, session_id)
        end_with_room = end_with_room if chosen is None else chosen

    def change(session: Session, now: datetime) -> Session:
        match report:
            case SipReport():
                status = report.sip_status
                return t.sip_leg_update(
                    session,
                    report.participant_id,
                    report.state,
                    now,
                    reason=t.reason_for_sip_status(status) if status is not None else None,
                    error=report.error,
                )
            case RecordingReport():
                return t.recording_update(
                    session, report.recording_id, report.state, now, report.error
                )
            case RecordingStartDeadlineReport():
                return t.recording_start_timed_out(
                    session, report.recording_id, report.timeout_s, now
                )
            case RecordingSavedReport():
                file = RecordingFile(
                    duration_s=report.duration_s, size_bytes=report.size_bytes, format=report.format
                )
                return t.recording_saved(session, report.recording_id, file, now)
            case ConnectedReport():
                return t.set_connected(session, report.participant_id, report.connected, now)
            case RoomJoinedReport():
                return t.room_joined(session, report.participant_id, report.sid, report.at)
            case RoomLeftReport():
                return t.room_left(session, report.participant_id, report.sid, now)
            case RoomAudioReport():
                known = session.participant(report.participant_id) is not None
                return t.room_audio_started(session, report.at) if known else session
            case RoomFinishedReport():
                return t.room_closed(session, now, end=end_with_room)
            case SipCheckReport():
                return session  # handled above: it changes no session
            case _:
                assert_never(report)

    return await _change_by_server(ctx, conn, session_id, change, now)


async def _check_sip_leg_again(
    ctx: AppContext, conn: AsyncConnection, session_id: str, participant_id: str, now: datetime
) -> None:
    """Look at a phone leg in the media server again while it is still live (a durable
    job, so any process reports its progress: the dialling one may have stopped)."""
    command = MediaCommand("check_sip_leg", participant_id=participant_id)
    if command.action not in ctx.media.actions:
        return
    stored = await repo.load_session(conn, session_id)
    if stored is None or stored.session.state is SessionState.ENDED:
        return
    leg = stored.session.participant(participant_id)
    if leg is not None and leg.sip_leg is not None and leg.is_live:
        await schedule_commands(conn, session_id, [command], now)


# -- the shared steps -------------------------------------------------------------------


class _MemberRoles:
    """The vendor roles of the users one transaction deals with, each looked up once."""

    def __init__(self, vendor_id: int, known: dict[int, MemberRole | None] | None = None) -> None:
        self.vendor_id = vendor_id
        self._known: dict[int, MemberRole | None] = dict(known or {})

    async def load(self, conn: AsyncConnection, user_ids: Iterable[int]) -> _MemberRoles:
        missing = {u for u in user_ids if u not in self._known}
        if missing:
            found = await member_roles(conn, self.vendor_id, missing)
            self._known.update({u: found.get(u) for u in missing})
        return self

    def of(self, user_id: int) -> MemberRole | None:
        """The role of a loaded user; None for a non-member."""
        return self._known[user_id]


async def _load_visible(
    conn: AsyncConnection, vendor_slug: str, session_id: str, user_id: int, *, lock: bool
) -> tuple[VendorRow, Session, _MemberRoles]:
    """The session, if the user takes part in it or administers its vendor; else 404
    (`vendor_not_found` for an unknown vendor, `session_not_found` for the rest)."""
    found = await repo.load_vendor_session(conn, vendor_slug, session_id, for_update=lock)
    if found is None:
        await require_vendor(conn, vendor_slug)
        raise Problem(404, ProblemCode.SESSION_NOT_FOUND, "No such session.")
    vendor, session = found
    roles = _MemberRoles(vendor.id)
    if not session.participants_of_user(user_id):
        await roles.load(conn, {user_id})
        if roles.of(user_id) not in MANAGER_ROLES:
            raise Problem(404, ProblemCode.SESSION_NOT_FOUND, "No such session.")
    return vendor, session, roles


def _target_user(target: Target) -> set[int]:
    return {target.user_id} if isinstance(target, VendorUserTarget | CustomerTarget) else set()


async def _resolve_target(
    conn: AsyncConnection, vendor: VendorRow, roles: _MemberRoles, caller: int, target: Target
) -> Invitee:
    """Who a target rings, and as what: the reads it needs (memberships, the contact), then
    the domain's rules. `roles` must hold the caller and the target's user. Teams are rung
    by a dispatch."""
    assert not isinstance(target, TeamTarget)
    if isinstance(target, VendorUserTarget):
        is_member = roles.of(target.user_id) is not None
        return targets.member_invitee(vendor.slug, caller, target.user_id, is_member=is_member)
    caller_is_member = roles.of(caller) is not None
    targets.require_member_caller(vendor.slug, target.type, caller_is_member=caller_is_member)
    if isinstance(target, CustomerTarget):
        is_member = roles.of(target.user_id) is not None
        return targets.customer_invitee(caller, target.user_id, is_member=is_member)
    if isinstance(target, ContactTarget):
        contact = await get_contact(conn, vendor.id, target.contact_id)
        if contact is None:
            raise Problem(404, ProblemCode.CONTACT_NOT_FOUND, "No such contact.")
        if contact.user_id is not None:
            await roles.load(conn, {contact.user_id})
        card = targets.ContactCard(contact.id, contact.user_id, contact.phone)
        user_is_member = contact.user_id is not None and roles.of(contact.user_id) is not None
        return targets.contact_invitee(card, user_is_member=user_is_member)
    assert isinstance(target, PhoneTarget)
    return targets.phone_invitee(normalize_phone(target.phone))


async def _change(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_slug: str,
    session_id: str,
    user_id: int,
    change: Change,
    now: datetime,
    if_match: int | None,
) -> SessionResult:
    """Run `change` as the caller on the locked session and store what changed."""
    vendor, before, _roles = await _load_visible(conn, vendor_slug, session_id, user_id, lock=True)
    return await _apply(ctx, conn, vendor, before, user_id, change, now, if_match)


async def _apply(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor: VendorRow,
    before: Session,
    user_id: int,
    change: Change,
    now: datetime,
    if_match: int | None,
) -> SessionResult:
    if if_match is not None and if_match != before.version:
        raise Problem(
            412,
            ProblemCode.VERSION_MISMATCH,
            f"The session is at version {before.version}, not {if_match}.",
            session=SessionView.of(before).model_dump(mode="json"),
        )
    actor = before.acting_participant(user_id)
    after = change(before, actor.id if actor else "", now)
    if after is before:
        return SessionResult(before, SessionView.of(before))
    return await _store(ctx, conn, vendor.id, before, after, now)


async def _change_by_server(
    ctx: AppContext,
    conn: AsyncConnection,
    session_id: str,
    change: Callable[[Session, datetime], Session],
    now: datetime,
) -> bool:
    """Apply a change the server makes on its own (timers, media); False when it changed
    nothing (already done, or the session is gone)."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    if stored is None:
        return False
    before = stored.session
    after = change(before, now)
    if after is before:
        return False
    await _store(ctx, conn, stored.vendor_id, before, after, now)
    return True


async def _store(
    ctx: AppContext,
    conn: AsyncConnection,
    vendor_id: int,
    before: Session,
    after: Session,
    now: datetime,
) -> SessionResult:
    """Save a change made under the session lock, with what follows from it in the same
    transaction: the next step of its dispatches, the agents' call endings, its events."""
    after = await advance_dispatches(conn, vendor_id, before, after, now)
    await repo.save_session(conn, vendor_id, before, after, now)
    await record_call_endings(conn, vendor_id, call_endings(before, after), now)
    _flag_queue(conn, before, after)
    return SessionResult(after, await _emit(ctx, conn, before, after, now))


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
    if queue_moved:
        after_commit(conn).dispatch_queue_changed = True
    if members_freed(before, after):
        after_commit(conn).agents_freed = True


async def _emit(
    ctx: AppContext,
    conn: AsyncConnection,
    before: Session | None,
    after: Session,
    now: datetime,
) -> SessionView:
    """The change's realtime events, and the media work its backend acts on; the view of
    `after` the events carry."""
    view = SessionView.of(after)
    written = await write_events(conn, session_events(before, after, view), now)
    SESSION_CHANGES.inc()
    OUTBOX_EVENTS.inc(written)
    if before is None:
        SESSIONS_STARTED.inc()
    commands = [c for c in media_commands(before, after) if c.action in ctx.media.actions]
    await schedule_commands(conn, after.id, commands, now)
    return view
