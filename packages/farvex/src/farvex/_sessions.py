"""`client.sessions`: the live sessions in the store, and every action on a session.

One rule for every namespace: plain methods read the local store (no I/O); every `async`
method is one server call whose answer is applied to the store before it returns. The
session id is the first argument of every action; everything else is keyword-only.
"""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ._capabilities import Action, capability_for
from ._errors import InvalidRequestError, NotFoundError
from ._models import (
    Capability,
    DtmfSent,
    Participant,
    ParticipantState,
    SessionWithJoin,
    Target,
    TargetInput,
    VoiceJoinGrant,
    VoiceSession,
    parse_target,
)

if TYPE_CHECKING:
    from livekit import rtc

    from ._core import ClientCore

__all__ = ["HostSessions", "Sessions"]


def _target(target: TargetInput) -> Target:
    try:
        return parse_target(target)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'target'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InvalidRequestError(f"invalid target {target!r}: {problems}") from None


class Sessions:
    """The live sessions the user may see, and what to do with them."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core
        self._store = core.store

    # The store (no I/O)

    def __len__(self) -> int:
        """How many the store holds."""
        return len(self._store.sessions)

    def __contains__(self, key: object) -> bool:
        """Does the store hold this id?"""
        return key in self._store.sessions

    def get(self, session_id: str) -> VoiceSession | None:
        """The live session with this id, as the store holds it, or None."""
        return self._store.sessions.get(session_id)

    def list(self) -> builtins.list[VoiceSession]:
        """The live sessions, oldest first (the order they were created in)."""
        return sorted(self._store.sessions.values(), key=lambda s: (s.created_at, s.id))

    @property
    def active(self) -> VoiceSession | None:
        """The newest session in which the user has accepted, or None."""
        for session in reversed(self.list()):
            mine = session.participant_of(self._core.user_id)
            if mine is not None and mine.state is ParticipantState.ACCEPTED:
                return session
        return None

    def me(self, session: VoiceSession | str) -> Participant | None:
        """The user's own participant in the session (a live one first), or None."""
        found = self._resolve(session)
        return found.participant_of(self._core.user_id) if found is not None else None

    def is_self(self, participant_id: str, session: VoiceSession | str | None = None) -> bool:
        """Is this participant the client's user? Looked up in `session`, or in every
        session the store holds."""
        candidates = [self._resolve(session)] if session is not None else self.list()
        for found in candidates:
            participant = found.participant(participant_id) if found is not None else None
            if participant is not None:
                return participant.user_id == self._core.user_id
        return False

    def capabilities(self, session: VoiceSession | str) -> frozenset[Capability | str]:
        """What the user may do in the session now, as the server computed it."""
        mine = self.me(session)
        return frozenset(mine.capabilities) if mine is not None else frozenset()

    def capabilities_of(
        self, session: VoiceSession | str, participant_id: str
    ) -> frozenset[Capability | str]:
        """What a participant may do in the session now, as the server computed it."""
        found = self._resolve(session)
        participant = found.participant(participant_id) if found is not None else None
        return frozenset(participant.capabilities) if participant is not None else frozenset()

    def can(
        self,
        session: VoiceSession | str,
        action: Action | Capability,
        *,
        participant_id: str | None = None,
    ) -> bool:
        """May the user (or `participant_id`) take `action` in `session` now?

        `action` is a short name (`"end"`, `"accept"`, `"start_recording"`, ...) or a
        Capability, checked against the capabilities the server sent with the session:
        True means the call is allowed unless the session changes first.
        """
        wanted = capability_for(action)
        held = (
            self.capabilities(session)
            if participant_id is None
            else self.capabilities_of(session, participant_id)
        )
        return wanted in held

    def room(self, session_id: str) -> rtc.Room | None:
        """The LiveKit room this client joined for the session (`join_media`), or None."""
        return self._core.media.room(session_id)

    def duration(self, session: VoiceSession | str) -> timedelta | None:
        """Time since the session was answered (whole seconds), until it ended; None while
        ringing. Watch it with `client.watch(..., interval=1)`."""
        found = self._resolve(session)
        if found is None or found.answered_at is None:
            return None
        until = found.ended_at or self._core.api.server_now()
        return timedelta(seconds=max(0, int((until - found.answered_at).total_seconds())))

    def _resolve(self, session: VoiceSession | str) -> VoiceSession | None:
        return self._store.sessions.get(session) if isinstance(session, str) else session

    # The server

    async def sync(self, *, timeout: float | None = None, max_retries: int | None = None) -> None:
        """Make the store the server's: every live session and pending invite (all pages)."""
        await self._core.sync(self._core.options_for(timeout, max_retries))

    async def retrieve(
        self,
        session_id: str,
        *,
        vendor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """The session as the server has it now (ended ones too); applied to the store."""
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        options = c.options_for(timeout, max_retries)
        return c.apply(await c.api.get(vendor, session_id, options))

    async def start(
        self,
        *,
        vendor: str,
        target: TargetInput,
        name: str = "",
        join_media: bool | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> SessionWithJoin:
        """Start a session with `vendor` and ring `target`; you are in it at once, and
        `join` is your media grant. With the `livekit` extra installed the client joins
        the media room too (`sessions.room(session_id)`), unless `join_media=False`."""
        c = self._core
        c.check_open()
        options = c.options_for(timeout, max_retries)
        started = await c.api.start(vendor, _target(target), name, idempotency_key, options)
        c.apply(started.session)
        await c.media.join(started, join_media)
        return started

    async def accept(
        self,
        session_id: str,
        *,
        participant_id: str | None = None,
        vendor: str | None = None,
        join_media: bool | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> SessionWithJoin:
        """Answer your invite into the session (`participant_id`: which one, by default
        your pending one). `ConflictError` if it was answered elsewhere, cancelled or
        expired first. Joins the media room like `start`."""
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        participant_id = participant_id or self._invited(session_id)
        accepted = await c.api.accept(
            vendor,
            session_id,
            participant_id,
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )
        c.apply(accepted.session)
        await c.media.join(accepted, join_media)
        return accepted

    async def reject(
        self,
        session_id: str,
        *,
        participant_id: str | None = None,
        vendor: str | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Decline your invite into the session."""
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        participant_id = participant_id or self._invited(session_id)
        rejected = await c.api.reject(
            vendor,
            session_id,
            participant_id,
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(rejected)

    async def leave(
        self,
        session_id: str,
        *,
        vendor: str | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Leave; the session ends when fewer than two parties remain."""
        return await self._simple(
            "leave", session_id, vendor, if_match, idempotency_key, timeout, max_retries
        )

    async def cancel(
        self,
        session_id: str,
        *,
        vendor: str | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Hang up while ringing (the caller): the session ends `cancelled`."""
        return await self._simple(
            "cancel", session_id, vendor, if_match, idempotency_key, timeout, max_retries
        )

    async def rename(
        self,
        session_id: str,
        *,
        name: str,
        vendor: str | None = None,
        if_match: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Rename the session."""
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        renamed = await c.api.rename(
            vendor,
            session_id,
            name,
            if_match=if_match,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(renamed)

    async def join(
        self,
        session_id: str,
        *,
        vendor: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceJoinGrant:
        """A fresh media grant for your accepted participant."""
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        return await c.api.join(vendor, session_id, c.options_for(timeout, max_retries))

    async def _simple(
        self,
        action: str,
        session_id: str,
        vendor: str | None,
        if_match: int | None,
        idempotency_key: str | None,
        timeout: float | None,
        max_retries: int | None,
    ) -> VoiceSession:
        c = self._core
        vendor = await self._vendor(session_id, vendor)
        changed = await c.api.simple(
            action,
            vendor,
            session_id,
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(changed)

    def _invited(self, session_id: str) -> str:
        """The user's pending participant in the session, from the store."""
        invite = next((i for i in self._store.invites.values() if i.session_id == session_id), None)
        if invite is not None:
            return invite.participant_id
        session = self._store.sessions.get(session_id)
        mine = session.participant_of(self._core.user_id) if session is not None else None
        if mine is None:
            raise NotFoundError(
                f"You have no invite into session {session_id}; pass participant_id=.",
                status=404,
                code="participant_not_found",
            )
        return mine.id

    async def _vendor(self, session_id: str, vendor: str | None) -> str:
        """The vendor the session belongs to: given, the client's, or from the store (after
        one re-sync when the store does not know the session)."""
        self._core.check_open()
        if vendor is not None:
            return vendor
        if self._core.vendor is not None:
            return self._core.vendor
        for attempt in range(2):
            found = self._store.vendor_of(session_id)
            if found is not None:
                return found
            if attempt == 0:
                await self.sync()
        raise NotFoundError(
            f"Session {session_id} is not among your live sessions; pass vendor= to address "
            "an ended one.",
            status=404,
            code="session_not_found",
        )


class HostSessions(Sessions):
    """`Sessions` of a host client: `start` rings anyone on behalf of the client's vendor,
    and the host's controls: participants, recording, hold, end."""

    def __init__(self, core: ClientCore, vendor: str) -> None:
        super().__init__(core)
        self._vendor_slug = vendor

    async def start(
        self,
        *,
        target: TargetInput,
        name: str = "",
        vendor: str | None = None,
        join_media: bool | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> SessionWithJoin:
        """Start a session: ring a member, a customer, a contact or a phone number."""
        return await super().start(
            vendor=vendor or self._vendor_slug,
            target=target,
            name=name,
            join_media=join_media,
            idempotency_key=idempotency_key,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def add_participant(
        self,
        session_id: str,
        *,
        target: TargetInput,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Ring another party into the session: a member, a customer, a contact, a phone."""
        c = self._core
        c.check_open()
        added = await c.api.add_participant(
            self._vendor_slug,
            session_id,
            _target(target),
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(added)

    async def remove_participant(
        self,
        session_id: str,
        *,
        participant_id: str,
        if_match: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Remove a participant, or stop ringing them."""
        c = self._core
        c.check_open()
        removed = await c.api.remove_participant(
            self._vendor_slug,
            session_id,
            participant_id,
            if_match=if_match,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(removed)

    async def send_dtmf(
        self,
        session_id: str,
        *,
        participant_id: str,
        digits: str,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> DtmfSent:
        """Press keys (`0-9*#A-D`, in order) on an answered phone leg: phone menus,
        extensions, PINs. Hosts and agents, while the call is active. A retry sends them
        once (an Idempotency-Key is made for you, or pass your own)."""
        c = self._core
        c.check_open()
        return await c.api.send_dtmf(
            self._vendor_slug,
            session_id,
            participant_id,
            digits,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )

    async def start_recording(
        self,
        session_id: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Start recording (`starting` until the media layer reports it `active`)."""
        c = self._core
        c.check_open()
        started = await c.api.start_recording(
            self._vendor_slug,
            session_id,
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=c.options_for(timeout, max_retries),
        )
        return c.apply(started)

    async def stop_recording(
        self,
        session_id: str,
        *,
        recording_id: str | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Stop `recording_id`, by default the session's live recording."""
        c = self._core
        c.check_open()
        options = c.options_for(timeout, max_retries)
        if recording_id is None:
            session = self.get(session_id) or await self.retrieve(
                session_id, timeout=timeout, max_retries=max_retries
            )
            live = session.live_recording
            if live is None:
                raise InvalidRequestError(f"Session {session_id} has no live recording.")
            recording_id = live.id
        stopped = await c.api.stop_recording(
            self._vendor_slug,
            session_id,
            recording_id,
            if_match=if_match,
            idempotency_key=idempotency_key,
            options=options,
        )
        return c.apply(stopped)

    async def hold(
        self,
        session_id: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Put the other parties on hold."""
        return await self._simple(
            "hold", session_id, None, if_match, idempotency_key, timeout, max_retries
        )

    async def unhold(
        self,
        session_id: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Take the session off hold."""
        return await self._simple(
            "unhold", session_id, None, if_match, idempotency_key, timeout, max_retries
        )

    async def end(
        self,
        session_id: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """End the session for everyone."""
        return await self._simple(
            "end", session_id, None, if_match, idempotency_key, timeout, max_retries
        )
