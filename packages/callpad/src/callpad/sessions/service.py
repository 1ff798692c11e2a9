"""Session use cases: resolve who and what, run the domain, store, emit events and media work.

Services never commit: callers hand them a connection inside a write transaction, and the
change, its outbox events and its media jobs commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ..admin.repository import VendorRow, get_contact, member_role, member_roles
from ..admin.service import require_vendor
from ..context import AppContext
from ..domain import (
    Direction,
    Invitee,
    Participant,
    ParticipantKind,
    ParticipantState,
    RecordingState,
    Role,
    Session,
    SipLegState,
    media_commands,
)
from ..domain import transitions as t
from ..media.grants import JoinGrant, mint_join_grant
from ..media.jobs import schedule_commands
from ..metrics import OUTBOX_EVENTS, SESSION_CHANGES, SESSIONS_STARTED
from ..phone import normalize_phone
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
    VendorUserTarget,
)

__all__ = [
    "Action",
    "Step",
    "apply_media_report",
    "expire_invite",
    "fresh_join",
    "get_visible",
    "mutate",
    "require_vendor",
    "resolve_target",
    "start",
]

# An action: (session, the caller's participant or None, now) -> the changed session.
Action = Callable[[Session, Participant | None, datetime], Session]
# A transition taking the acting participant's id: `transitions.accept`, `.end`, ...
Step = Callable[[Session, str, datetime], Session]

ADMIN_ROLES = ("owner", "admin")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


async def get_visible(
    conn: AsyncConnection, vendor: VendorRow, session_id: str, user_id: int, *, lock: bool = False
) -> Session:
    """The session, if the user takes part in it or administers its vendor; else 404."""
    stored = await repo.load_session(conn, session_id, for_update=lock)
    if stored is not None and stored.vendor_id == vendor.id:
        session = stored.session
        if session.participants_of_user(user_id):
            return session
        if await member_role(conn, vendor.id, user_id) in ADMIN_ROLES:
            return session
    raise Problem(404, ProblemCode.SESSION_NOT_FOUND, "No such session.")


def acting_participant(session: Session, user_id: int) -> Participant | None:
    """The caller's place in the session: a live participant first, then the latest."""
    mine = session.participants_of_user(user_id)
    live = [p for p in mine if p.is_live]
    candidates = live or list(mine)
    return candidates[-1] if candidates else None


async def resolve_target(
    conn: AsyncConnection, vendor: VendorRow, caller_role: str | None, caller: int, target: Target
) -> Invitee:
    """Who a target rings, and as what. Customers may only ring the vendor's members."""
    if isinstance(target, VendorUserTarget):
        if target.user_id == caller:
            raise Problem(422, ProblemCode.INVALID_TARGET, "You cannot call yourself.")
        if await member_role(conn, vendor.id, target.user_id) is None:
            raise Problem(
                422,
                ProblemCode.INVALID_TARGET,
                f"User {target.user_id} is not a member of {vendor.slug!r}.",
            )
        return Invitee(ParticipantKind.USER, Role.AGENT, user_id=target.user_id)
    if caller_role is None:
        raise Problem(
            403,
            ProblemCode.TARGET_NOT_ALLOWED,
            f"Only members of {vendor.slug!r} may call a {target.type} target.",
        )
    if isinstance(target, CustomerTarget):
        if target.user_id == caller:
            raise Problem(422, ProblemCode.INVALID_TARGET, "You cannot call yourself.")
        return Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=target.user_id)
    if isinstance(target, ContactTarget):
        contact = await get_contact(conn, vendor.id, target.contact_id)
        if contact is None:
            raise Problem(404, ProblemCode.CONTACT_NOT_FOUND, "No such contact.")
        if contact.user_id is not None:
            return Invitee(
                ParticipantKind.USER, Role.CUSTOMER, user_id=contact.user_id, contact_id=contact.id
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
) -> tuple[Session, JoinGrant]:
    vendor = await require_vendor(conn, vendor_slug)
    caller_role = await member_role(conn, vendor.id, user_id)
    invitee = await resolve_target(conn, vendor, caller_role, user_id, target)
    if caller_role is None:
        direction = Direction.INBOUND
    elif isinstance(target, VendorUserTarget):
        direction = Direction.INTERNAL
    else:
        direction = Direction.OUTBOUND
    session_id = new_id("ses")
    initiator_id = new_id("par")
    session = t.start_session(
        session_id=session_id,
        vendor=vendor.slug,
        name=name,
        room=f"callpad-{session_id}",
        direction=direction,
        target=target.model_dump(),
        initiator=Invitee(
            ParticipantKind.USER, Role.HOST if caller_role else Role.CUSTOMER, user_id=user_id
        ),
        initiator_participant_id=initiator_id,
        invitees=[(new_id("par"), invitee)],
        ring_timeout_s=vendor.ring_timeout_s,
        now=now,
    )
    await repo.insert_session(conn, vendor.id, session)
    await _emit(conn, vendor.id, None, session, now)
    initiator = session.participant(initiator_id)
    assert initiator is not None
    return session, mint_join_grant(ctx.settings, session, initiator, now)


async def mutate(
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
    vendor = await require_vendor(conn, vendor_slug)
    before = await get_visible(conn, vendor, session_id, user_id, lock=True)
    if if_match is not None and if_match != before.version:
        raise Problem(
            412,
            ProblemCode.VERSION_MISMATCH,
            f"The session is at version {before.version}, not {if_match}.",
            session=SessionView.of(before).model_dump(mode="json"),
        )
    after = action(before, acting_participant(before, user_id), now)
    if after is not before:
        await repo.save_session(conn, vendor.id, before, after, now)
        await _emit(conn, vendor.id, before, after, now)
    return after


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
    conn: AsyncConnection, session_id: str, participant_id: str, now: datetime
) -> bool:
    """Ring timeout for one participant; False when it was already answered or expired."""
    stored = await repo.load_session(conn, session_id, for_update=True)
    if stored is None:
        return False
    before = stored.session
    after = t.expire_invite(before, participant_id, now)
    if after is before:
        return False
    await repo.save_session(conn, stored.vendor_id, before, after, now)
    await _emit(conn, stored.vendor_id, before, after, now)
    return True


async def apply_media_report(
    conn: AsyncConnection, session_id: str, report: dict[str, Any], now: datetime
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
    elif kind == "connected":
        after = t.set_connected(before, report["participant_id"], bool(report["connected"]), now)
    else:
        raise ValueError(f"unknown media report {kind!r}")
    if after is before:
        return False
    await repo.save_session(conn, stored.vendor_id, before, after, now)
    await _emit(conn, stored.vendor_id, before, after, now)
    return True


async def _emit(
    conn: AsyncConnection, vendor_id: int, before: Session | None, after: Session, now: datetime
) -> None:
    """The change's realtime events and media work, in its own transaction."""
    members = await member_roles(conn, vendor_id)
    written = await write_events(conn, session_events(before, after, members), now)
    SESSION_CHANGES.inc()
    OUTBOX_EVENTS.inc(written)
    if before is None:
        SESSIONS_STARTED.inc()
    await schedule_commands(conn, after.id, media_commands(before, after), now)
