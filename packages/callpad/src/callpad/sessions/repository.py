"""Every query about sessions, their users and their invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..db.tables import LIVE_SESSION, dispatches, invites, session_users, sessions, vendors
from ..db.transaction import after_commit
from ..domain import (
    DispatchState,
    Participant,
    ParticipantState,
    Session,
    SessionState,
    dispatch_changes,
    invite_changes,
    invite_id,
)
from ..vendors import VendorRow
from .codec import from_document, to_document

__all__ = [
    "ListStatus",
    "PendingInvite",
    "StoredSession",
    "due_invites",
    "insert_session",
    "list_sessions",
    "load_session",
    "load_vendor_session",
    "next_invite_due",
    "pending_invites",
    "save_session",
]

ListStatus = Literal["live", "ended", "all"]


@dataclass(frozen=True, slots=True)
class StoredSession:
    vendor_id: int
    session: Session


async def load_session(
    conn: AsyncConnection,
    session_id: str,
    *,
    for_update: bool = False,
) -> StoredSession | None:
    """One session; `for_update` locks its row until the transaction ends (PostgreSQL)."""
    query = sa.select(sessions.c.vendor_id, sessions.c.document).where(sessions.c.id == session_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return StoredSession(row.vendor_id, from_document(row.document)) if row else None


# The statements of the write path are built once: SQLAlchemy then reuses the compiled form
# without rebuilding the statement and its cache key on every request.
_VENDOR_SESSION = (
    sa.select(
        vendors.c.id,
        vendors.c.slug,
        vendors.c.name,
        vendors.c.ring_timeout_s,
        sessions.c.document,
    )
    .join(vendors, vendors.c.id == sessions.c.vendor_id)
    .where(sessions.c.id == sa.bindparam("session_id"), vendors.c.slug == sa.bindparam("slug"))
)
_VENDOR_SESSION_FOR_UPDATE = _VENDOR_SESSION.with_for_update(of=sessions)
_INSERT_SESSION = sessions.insert()
_UPDATE_SESSION = (
    sessions.update()
    .where(sessions.c.id == sa.bindparam("w_id"), sessions.c.version == sa.bindparam("w_version"))
    .values(
        version=sa.bindparam("version"),
        state=sa.bindparam("state"),
        document=sa.bindparam("document"),
        updated_at=sa.bindparam("updated_at"),
    )
)
_INSERT_SESSION_USERS = session_users.insert()
_SET_SESSION_USERS_LIVE = (
    session_users.update()
    .where(
        session_users.c.session_id == sa.bindparam("w_session_id"),
        session_users.c.user_id.in_(sa.bindparam("w_user_ids", expanding=True)),
    )
    .values(live=sa.bindparam("live"))
)
_SET_SESSION_USER_LIVE = (
    session_users.update()
    .where(
        session_users.c.session_id == sa.bindparam("w_session_id"),
        session_users.c.user_id == sa.bindparam("w_user_id"),
    )
    .values(live=sa.bindparam("live"))
)
_INSERT_INVITE = invites.insert()
_SET_INVITE_STATE = (
    invites.update()
    .where(invites.c.participant_id.in_(sa.bindparam("w_participant_ids", expanding=True)))
    .values(state=sa.bindparam("state"))
)
_SET_ONE_INVITE_STATE = (
    invites.update()
    .where(invites.c.participant_id == sa.bindparam("w_participant_id"))
    .values(state=sa.bindparam("state"))
)
# A few rows are updated by key with an equality statement, run once per key: an expanding
# IN list has its SQL rewritten by SQLAlchemy on every execution (~25 us on SQLite, about
# what the update itself costs). A team call's hundreds of rows go in one IN.
_FEW_KEYS = 4


async def load_vendor_session(
    conn: AsyncConnection, vendor_slug: str, session_id: str, *, for_update: bool = False
) -> tuple[VendorRow, Session] | None:
    """A session with its vendor, in one query; None unless it belongs to `vendor_slug`."""
    query = _VENDOR_SESSION_FOR_UPDATE if for_update else _VENDOR_SESSION
    row = (await conn.execute(query, {"session_id": session_id, "slug": vendor_slug})).first()
    if row is None:
        return None
    return VendorRow(row.id, row.slug, row.name, row.ring_timeout_s), from_document(row.document)


async def insert_session(conn: AsyncConnection, vendor_id: int, session: Session) -> None:
    await conn.execute(
        _INSERT_SESSION,
        {
            "id": session.id,
            "vendor_id": vendor_id,
            "version": session.version,
            "state": session.state,
            "document": to_document(session),
            "created_at": session.created_at,
            "updated_at": session.created_at,
        },
    )
    await _sync_users(conn, None, session)
    await _sync_invites(conn, vendor_id, None, session)
    await _sync_dispatches(conn, vendor_id, None, session, session.created_at)


async def save_session(
    conn: AsyncConnection, vendor_id: int, before: Session, after: Session, now: datetime
) -> None:
    """Store `after` over `before`; the version check guards against a lost update."""
    result = await conn.execute(
        _UPDATE_SESSION,
        {
            "w_id": after.id,
            "w_version": before.version,
            "version": after.version,
            "state": after.state,
            "document": to_document(after),
            "updated_at": now,
        },
    )
    if result.rowcount != 1:
        raise RuntimeError(f"session {after.id} changed under a held lock")
    await _sync_users(conn, before, after)
    await _sync_invites(conn, vendor_id, before, after)
    await _sync_dispatches(conn, vendor_id, before, after, now)


async def _sync_users(conn: AsyncConnection, before: Session | None, after: Session) -> None:
    """Keep `session_users` in step, from the two versions in hand (no read needed)."""
    was, now = (before.users() if before else {}), after.users()
    added = [
        {"session_id": after.id, "user_id": user_id, "live": live}
        for user_id, live in now.items()
        if user_id not in was
    ]
    if added:
        await conn.execute(_INSERT_SESSION_USERS, added)
    for live in (True, False):
        changed = [u for u, v in now.items() if u in was and was[u] != v and v is live]
        if len(changed) > _FEW_KEYS:
            await conn.execute(
                _SET_SESSION_USERS_LIVE,
                {"w_session_id": after.id, "w_user_ids": changed, "live": live},
            )
        elif changed:
            await conn.execute(
                _SET_SESSION_USER_LIVE,
                [{"w_session_id": after.id, "w_user_id": u, "live": live} for u in changed],
            )


async def _sync_invites(
    conn: AsyncConnection, vendor_id: int, before: Session | None, after: Session
) -> None:
    """Open and close invite rows, one statement per kind of change (a team call opens
    or closes hundreds at once)."""
    opened = []
    closed: dict[str, list[str]] = {}
    for change in invite_changes(before, after):
        if change.opened:
            participant = after.participant(change.participant_id)
            assert change.expires_at is not None and participant is not None
            after_commit(conn).timer_at(change.expires_at)
            opened.append(
                {
                    "participant_id": change.participant_id,
                    "id": invite_id(change.participant_id),
                    "session_id": after.id,
                    "vendor_id": vendor_id,
                    "user_id": change.user_id,
                    "state": "pending",
                    "created_at": participant.invited_at,
                    "expires_at": change.expires_at,
                }
            )
        else:
            closed.setdefault(str(change.state), []).append(change.participant_id)
    if opened:
        await conn.execute(_INSERT_INVITE, opened)
    for state, participant_ids in closed.items():
        if len(participant_ids) > _FEW_KEYS:
            await conn.execute(
                _SET_INVITE_STATE, {"w_participant_ids": participant_ids, "state": state}
            )
        else:
            await conn.execute(
                _SET_ONE_INVITE_STATE,
                [{"w_participant_id": p, "state": state} for p in participant_ids],
            )


async def _sync_dispatches(
    conn: AsyncConnection, vendor_id: int, before: Session | None, after: Session, now: datetime
) -> None:
    """Keep each dispatch's index row (timer, queue place) in step with the session."""
    for d in dispatch_changes(before, after):
        was = before.dispatch(d.id) if before else None
        if d.deadline is not None:
            after_commit(conn).timer_at(d.deadline)
        values = {
            "state": str(d.state),
            "due_at": d.deadline,
            "queued_at": d.queued_at,
            "queue_position": d.queue_position,
        }
        if was is None:
            await conn.execute(
                dispatches.insert().values(
                    id=d.id, session_id=after.id, vendor_id=vendor_id, team=d.team, **values
                )
            )
            continue
        if was.state is DispatchState.QUEUED and d.state is DispatchState.RINGING:
            values["dequeued_at"] = now
        await conn.execute(dispatches.update().where(dispatches.c.id == d.id).values(**values))


async def list_sessions(
    conn: AsyncConnection,
    *,
    vendor_id: int | None,
    user_id: int | None,
    status: ListStatus = "live",
    limit: int = 50,
    after: tuple[datetime, str] | None = None,
) -> list[Session]:
    """Sessions of a vendor (all of them when `user_id` is None), or of a user anywhere,
    newest first, from after the `(created_at, id)` key `after`.

    The vendor's unfiltered order is served by `ix_sessions_vendor_id_created_at_id`, the
    live ones by the partial `ix_sessions_live_vendor_id_created_at_id`, the ended ones by
    `ix_sessions_vendor_id_state_created_at_id`: a page reads its rows off an index
    instead of sorting every session of the vendor.
    """
    query = (
        sa.select(sessions.c.document)
        .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(sessions.c.created_at, sessions.c.id) < sa.tuple_(*after))
    if vendor_id is not None:
        query = query.where(sessions.c.vendor_id == vendor_id)
    if user_id is not None:
        query = query.join(session_users, session_users.c.session_id == sessions.c.id).where(
            session_users.c.user_id == user_id
        )
        if status == "live":
            query = query.where(session_users.c.live.is_(True))
    if status == "live":
        query = query.where(sa.text(LIVE_SESSION))  # word for word: the live index's condition
    elif status == "ended":
        query = query.where(sessions.c.state == SessionState.ENDED.value)
    return [from_document(doc) for doc in (await conn.execute(query)).scalars()]


@dataclass(frozen=True, slots=True)
class PendingInvite:
    """An invite row still pending, with its session; `key` orders the list."""

    session: Session
    participant_id: str
    created_at: datetime

    @property
    def participant(self) -> Participant | None:
        """The invited participant, None if it just stopped being `invited`."""
        found = self.session.participant(self.participant_id)
        return found if found is not None and found.state is ParticipantState.INVITED else None


async def pending_invites(
    conn: AsyncConnection,
    user_id: int,
    vendor_id: int | None = None,
    *,
    limit: int | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[PendingInvite]:
    """The user's pending invite rows, oldest first (from after the `(created_at,
    participant_id)` key `after`), with the sessions they ring into."""
    query = (
        sa.select(sessions.c.document, invites.c.participant_id, invites.c.created_at)
        .join(sessions, sessions.c.id == invites.c.session_id)
        .where(invites.c.user_id == user_id, invites.c.state == "pending")
        .order_by(invites.c.created_at, invites.c.participant_id)
    )
    if vendor_id is not None:
        query = query.where(invites.c.vendor_id == vendor_id)
    if after is not None:
        query = query.where(
            sa.tuple_(invites.c.created_at, invites.c.participant_id) > sa.tuple_(*after)
        )
    if limit is not None:
        query = query.limit(limit)
    rows = await conn.execute(query)
    return [PendingInvite(from_document(doc), pid, at) for doc, pid, at in rows]


# The timer loop's queries, built once: it runs them after commits, at every wake-up.
_NEXT_INVITE_DUE = sa.select(sa.func.min(invites.c.expires_at)).where(invites.c.state == "pending")
_DUE_INVITES = (
    sa.select(invites.c.session_id, invites.c.participant_id)
    .where(invites.c.state == "pending", invites.c.expires_at <= sa.bindparam("now"))
    .order_by(invites.c.expires_at)
    .limit(sa.bindparam("limit"))
)


async def next_invite_due(conn: AsyncConnection) -> datetime | None:
    """When the earliest pending ring times out."""
    due: datetime | None = (await conn.execute(_NEXT_INVITE_DUE)).scalar_one_or_none()
    return due


async def due_invites(
    conn: AsyncConnection, now: datetime, limit: int = 100
) -> list[tuple[str, str]]:
    """(session id, participant id) of rings past their deadline, earliest first."""
    rows = await conn.execute(_DUE_INVITES, {"now": now, "limit": limit})
    return [(row.session_id, row.participant_id) for row in rows]
