"""The live store: the sessions, invites and connection status a client currently knows.

Rules, whatever the source (a realtime publication, an HTTP answer, a re-sync):

- A session view applies only when its `version` is newer than the one held (or than
  the version it was removed at): replays and stale answers change nothing.
- The store holds the sessions the user may see live: not ended, and either the user has
  a live participant in it (other than a team call still ringing them: the server sends
  those agents invite events only, until they accept) or the client reads the vendor
  feed of its vendor (owners and admins).
- `session.remove` drops the session and its invites, unless the vendor feed the user
  reads still shows it (the feed ends it with its own upsert).
- An invite is pending while its participant is `invited`; it is dropped at its
  `expires_at` even when no removal arrives (a dropped connection, a late server).
- A re-sync replaces the contents with the server's lists, except for what realtime
  changed while the lists were being fetched (that is newer).

Readers get read-only `Mapping` views. Every change is announced through the emitter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from ._errors import ClientClosedError
from ._events import (
    Emitter,
    InviteReceived,
    InviteRemoved,
    PresenceChanged,
    SessionRemoved,
    SessionUpdated,
    StatusChanged,
    derived_events,
)
from ._models import ConnectionStatus, Invite, ParticipantState, Presence, VoiceSession

__all__ = ["Store"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, user_id: int, emitter: Emitter, *, clock: Clock = _utcnow) -> None:
        self.user_id = user_id
        # Vendors whose feed this user reads (owners and admins): every live session of
        # theirs is in the store, whoever takes part in it.
        self.feed_vendors: frozenset[str] = frozenset()
        self._emitter = emitter
        self._clock = clock
        self._sessions: dict[str, VoiceSession] = {}
        self._invites: dict[str, Invite] = {}
        self._removed_at: dict[str, int] = {}  # session id -> version it left the store at
        self._touched: set[str] | None = None  # ids changed while a re-sync is in flight
        self._handed_out: set[str] = set()  # invites returned by next_invite()
        self._watchers: set[asyncio.Event] = set()
        self._invites_changed = asyncio.Event()
        self._expiry_task: asyncio.Task[None] | None = None
        self.status = ConnectionStatus.DISCONNECTED
        self.sessions: Mapping[str, VoiceSession] = MappingProxyType(self._sessions)
        self.invites: Mapping[str, Invite] = MappingProxyType(self._invites)
        self._presence: dict[int, Presence] = {}
        self.presence: Mapping[int, Presence] = MappingProxyType(self._presence)
        self.closed = False

    # Sessions

    def visible(self, session: VoiceSession) -> bool:
        if session.is_ended:
            return False
        if session.vendor in self.feed_vendors:
            return True
        return any(
            p.user_id == self.user_id
            and p.is_live
            and not (p.state is ParticipantState.INVITED and p.dispatch_id is not None)
            for p in session.participants
        )

    def _rung_by_dispatch(self, session: VoiceSession) -> bool:
        return not session.is_ended and any(
            p.user_id == self.user_id
            and p.state is ParticipantState.INVITED
            and p.dispatch_id is not None
            for p in session.participants
        )

    def upsert_session(self, session: VoiceSession) -> bool:
        """Apply a session view if it is newer; True when it changed the store."""
        current = self._sessions.get(session.id)
        newest = current.version if current else self._removed_at.get(session.id, -1)
        if session.version <= newest:
            return False
        self._touch(session.id)
        if self.visible(session):
            self._sessions[session.id] = session
            self._removed_at.pop(session.id, None)
        else:
            self._sessions.pop(session.id, None)
            if not self._rung_by_dispatch(session):
                # Not a removal while a team call rings the user: their invite stays.
                self._removed_at[session.id] = session.version
        emit = self._emitter.emit
        if current is not None or self.visible(session):
            emit("session.updated", SessionUpdated(session, current))
            for name, event in derived_events(current, session):
                emit(name, event)
        self._follow_invites(session)
        if current is not None and session.id not in self._sessions:
            emit("session.removed", SessionRemoved(session.id, session.version, session))
        self.wake_watchers()
        return True

    def read_feeds_of(self, channels: Iterable[str]) -> None:
        """Note which vendor feeds a realtime grant's `channels` subscribe this user to."""
        self.feed_vendors = frozenset(
            c.removeprefix("vendor:") for c in channels if c.startswith("vendor:")
        )

    def remove_session(self, session_id: str, version: int) -> None:
        """`session.remove`: the session (at `version`) is no longer the user's to see."""
        current = self._sessions.get(session_id)
        if current is not None and current.version > version:
            return  # we hold a newer description, in which it came back
        if current is not None and current.vendor in self.feed_vendors:
            # Their own channel says they left it; the vendor's feed still shows it (and
            # drops it with the upsert that ends it).
            return
        self._drop_session(session_id, version)

    def _drop_session(self, session_id: str, version: int) -> None:
        current = self._sessions.get(session_id)
        self._touch(session_id)
        self._removed_at[session_id] = max(version, self._removed_at.get(session_id, -1))
        for invite in [i for i in self._invites.values() if i.session_id == session_id]:
            self._drop_invite(invite.id, "withdrawn", None, current)
        if current is not None:
            del self._sessions[session_id]
            self._emitter.emit("session.removed", SessionRemoved(session_id, version, current))
        self.wake_watchers()

    def vendor_of(self, session_id: str) -> str | None:
        """The vendor of a session the store knows, from the session or an invite into it."""
        known = self._sessions.get(session_id)
        if known is not None:
            return known.vendor
        invite = next((i for i in self._invites.values() if i.session_id == session_id), None)
        return invite.vendor if invite is not None else None

    # Invites

    def upsert_invite(self, invite: Invite) -> None:
        if invite.expires_at <= self._clock():
            return
        session = self._sessions.get(invite.session_id)
        if session is None and invite.session_version <= self._removed_at.get(
            invite.session_id, -1
        ):
            return  # the session went away after this invite was sent
        if session is not None and session.version >= invite.session_version:
            participant = session.participant(invite.participant_id)
            if participant is None or participant.state is not ParticipantState.INVITED:
                return
            invite = invite.model_copy(
                update={"session_version": session.version, "participant": participant}
            )
        self._touch(invite.id)
        known = invite.id in self._invites
        self._invites[invite.id] = invite
        if not known:
            self._emitter.emit("invite.received", InviteReceived(invite))
        self._invites_changed.set()
        self.ensure_expiry()
        self.wake_watchers()

    def remove_invite(self, invite_id: str, state: str, reason: str | None = None) -> None:
        self._touch(invite_id)
        invite = self._invites.get(invite_id)
        session = self._sessions.get(invite.session_id) if invite is not None else None
        if self._drop_invite(invite_id, state, reason, session):
            self.wake_watchers()

    def _drop_invite(
        self, invite_id: str, state: str, reason: str | None, session: VoiceSession | None
    ) -> bool:
        """Drop a pending invite; `session` is the newest view of its session, if known."""
        invite = self._invites.pop(invite_id, None)
        if invite is None:
            return False
        self._handed_out.discard(invite_id)
        self._emitter.emit(
            "invite.removed",
            InviteRemoved(
                invite_id,
                invite.session_id,
                invite.participant_id,
                state,
                invite,
                reason=reason,
                session=session,
            ),
        )
        return True

    def _follow_invites(self, session: VoiceSession) -> None:
        """Keep each invite's participant current; drop those no longer pending."""
        for invite in [i for i in self._invites.values() if i.session_id == session.id]:
            if session.version <= invite.session_version:
                continue
            participant = session.participant(invite.participant_id)
            if participant is None:
                self._drop_invite(invite.id, "withdrawn", None, session)
            elif participant.state is not ParticipantState.INVITED:
                reason = participant.state_reason
                self._drop_invite(invite.id, participant.state, reason, session)
            elif session.is_ended:
                self._drop_invite(invite.id, "withdrawn", None, session)
            else:
                self._invites[invite.id] = invite.model_copy(
                    update={"session_version": session.version, "participant": participant}
                )

    def expire_invites(self) -> None:
        now = self._clock()
        expired = [i.id for i in self._invites.values() if i.expires_at <= now]
        for invite_id in expired:
            self._drop_invite(invite_id, "expired", "timeout", None)
        if expired:
            self.wake_watchers()

    def ensure_expiry(self) -> None:
        """Start the task that drops invites at their `expires_at` (owned, see `aclose`)."""
        if self._expiry_task is None or self._expiry_task.done():
            self._expiry_task = asyncio.get_running_loop().create_task(
                self._expire_invites_on_time(), name="farvex-invite-expiry"
            )

    async def _expire_invites_on_time(self) -> None:
        while True:
            self.expire_invites()
            self._invites_changed.clear()
            earliest = min((i.expires_at for i in self._invites.values()), default=None)
            delay = None
            if earliest is not None:
                delay = max(0.0, (earliest - self._clock()).total_seconds()) + 0.001
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._invites_changed.wait(), delay)

    async def next_invite(self) -> Invite:
        """The oldest pending invite no earlier call returned; waits for one if none."""
        while True:
            if self.closed:
                raise ClientClosedError()
            fresh = sorted(
                (i for i in self._invites.values() if i.id not in self._handed_out),
                key=lambda i: (i.created_at, i.id),
            )
            if fresh:
                self._handed_out.add(fresh[0].id)
                return fresh[0]
            wake = asyncio.Event()
            self._watchers.add(wake)
            try:
                await wake.wait()
            finally:
                self._watchers.discard(wake)

    # Presence (host clients: the vendor's members)

    def upsert_presence(self, presence: Presence) -> None:
        """Apply a member's presence unless the store holds a newer one."""
        current = self._presence.get(presence.user_id)
        if current is not None and current.updated_at > presence.updated_at:
            return
        if current == presence:
            return
        self._presence[presence.user_id] = presence
        self._emitter.emit("presence.updated", PresenceChanged(presence, current))
        self.wake_watchers()

    # Re-sync

    def begin_sync(self) -> None:
        self._touched = set()

    def end_sync(self, sessions: Iterable[VoiceSession], invites: Iterable[Invite]) -> None:
        """Make the store the server's lists, keeping what realtime changed meanwhile."""
        touched = self._touched or set()
        self._touched = None
        sessions = list(sessions)
        invites = list(invites)
        for session in sessions:
            self.upsert_session(session)
        listed = {s.id for s in sessions}
        for session_id, held in list(self._sessions.items()):
            if session_id not in listed and session_id not in touched:
                self._drop_session(session_id, held.version)  # the server no longer lists it
        for invite in invites:
            self.upsert_invite(invite)
        listed_invites = {i.id for i in invites}
        for invite_id in list(self._invites):
            if invite_id not in listed_invites and invite_id not in touched:
                self.remove_invite(invite_id, "withdrawn")
        self.wake_watchers()

    def _touch(self, key: str) -> None:
        if self._touched is not None:
            self._touched.add(key)

    # Status and watchers

    def set_status(self, status: ConnectionStatus) -> None:
        previous = self.status
        if status is previous:
            return
        self.status = status
        self._emitter.emit("status", StatusChanged(status, previous))
        self.wake_watchers()

    def watcher(self) -> asyncio.Event:
        wake = asyncio.Event()
        self._watchers.add(wake)
        return wake

    def unwatch(self, wake: asyncio.Event) -> None:
        self._watchers.discard(wake)

    def wake_watchers(self) -> None:
        """Re-evaluate every `watch()`: the store, or what the client derives from it (a
        joined room), changed."""
        for wake in list(self._watchers):
            wake.set()

    async def aclose(self) -> None:
        self.closed = True
        self.wake_watchers()
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry_task
            self._expiry_task = None
