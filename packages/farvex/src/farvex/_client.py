"""The clients: `create_session_client` (customers and apps) and `create_host_client`
(a vendor's members: agents, desktops, voice bots).

    SessionClient
      .sessions   Sessions: the live sessions (a read-only Mapping) and the session actions
      .invites    Invites: the pending invites (a read-only Mapping) and next()
      .status     the realtime connection
      on/off/watch, connect/disconnect/dispose, async with
    HostClient(SessionClient)
      .vendor     the vendor slug every call is scoped to
      .host       HostControls: add/remove participants, recording, hold, end
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self, TypeVar, overload

import httpx

from ._capabilities import Action, capabilities_of, capability_for
from ._errors import CallpadClientClosedError, CallpadError
from ._events import (
    DispatchChanged,
    Emitter,
    EventName,
    InviteReceived,
    InviteRemoved,
    ParticipantChanged,
    RecordingChanged,
    SessionRemoved,
    SessionUpdated,
    StatusChanged,
)
from ._http import Auth, HttpApi
from ._models import (
    Capability,
    ConnectionStatus,
    Invite,
    ParticipantState,
    SessionWithJoin,
    TargetInput,
    VoiceJoinGrant,
    VoiceSession,
    parse_target,
)
from ._realtime import Realtime
from ._store import Store

__all__ = [
    "HostClient",
    "HostControls",
    "HostSessions",
    "Invites",
    "SessionClient",
    "Sessions",
    "create_host_client",
    "create_session_client",
]

T = TypeVar("T")
_Ret = Awaitable[None] | None
_UNSET: Any = object()


def _base_url(api_url: str) -> str:
    """The server's origin: the generated paths already start with /api/v1."""
    url = api_url.rstrip("/")
    return url.removesuffix("/api/v1")


class Sessions(Mapping[str, VoiceSession]):
    """The live sessions the user may see (a read-only Mapping by id) and what to do
    with them. Every action returns the server's answer and applies it to the store."""

    def __init__(self, client: SessionClient) -> None:
        self._client = client
        self._store = client._store

    # The store, read-only

    def __getitem__(self, session_id: str) -> VoiceSession:
        return self._store.sessions[session_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.sessions)

    def __len__(self) -> int:
        return len(self._store.sessions)

    def list(self) -> list[VoiceSession]:
        """The live sessions, newest first."""
        return sorted(self._store.sessions.values(), key=lambda s: s.created_at, reverse=True)

    @property
    def active(self) -> VoiceSession | None:
        """The newest session in which the user has accepted, or None."""
        user_id = self._client.user_id
        for session in self.list():
            mine = session.participant_of(user_id)
            if mine is not None and mine.state is ParticipantState.ACCEPTED:
                return session
        return None

    def can(
        self,
        session: VoiceSession | str,
        action: Action | Capability,
        *,
        participant_id: str | None = None,
    ) -> bool:
        """May the user (or `participant_id`) take `action` in `session` now?

        `action` is a short name (`"end"`, `"accept"`, `"start_recording"`, ...) or a
        Capability. The same rules as the server's, so True means the call is allowed
        unless the session changes first.
        """
        wanted = capability_for(action)
        found = self._store.sessions.get(session) if isinstance(session, str) else session
        if found is None:
            return False
        participant = (
            found.participant(participant_id)
            if participant_id is not None
            else found.participant_of(self._client.user_id)
        )
        return participant is not None and wanted in capabilities_of(found, participant)

    def duration(self, session: VoiceSession | str) -> timedelta | None:
        """Time since the session was answered (whole seconds), until it ended; None while
        ringing. Watch it with `client.watch(..., interval=1)`."""
        found = self._store.sessions.get(session) if isinstance(session, str) else session
        if found is None or found.answered_at is None:
            return None
        until = found.ended_at or datetime.now(UTC)
        return timedelta(seconds=max(0, int((until - found.answered_at).total_seconds())))

    # HTTP

    async def sync(self) -> None:
        """Replace the store's sessions and invites with the server's."""
        await self._client._sync()

    async def fetch(self, session_id: str, *, vendor: str | None = None) -> VoiceSession:
        """The session as the server has it now (also ended ones); applied to the store."""
        found = await self._client._api.get(await self._vendor(session_id, vendor), session_id)
        return self._client._apply(found)

    async def start(
        self,
        *,
        vendor: str,
        target: TargetInput | Mapping[str, Any],
        name: str = "",
        idempotency_key: str | None = None,
    ) -> SessionWithJoin:
        """Start a session with `vendor`: ring `target`; you join at once (`join`)."""
        started = await self._client._api.start(vendor, parse_target(target), name, idempotency_key)
        self._client._apply(started.session)
        return started

    async def accept(
        self, *, session_id: str, participant_id: str, vendor: str | None = None
    ) -> SessionWithJoin:
        """Answer an invite; returns the session and your join grant. 409 if it was
        answered elsewhere, cancelled or expired first."""
        vendor = await self._vendor(session_id, vendor)
        accepted = await self._client._api.accept(vendor, session_id, participant_id)
        self._client._apply(accepted.session)
        return accepted

    async def reject(
        self, *, session_id: str, participant_id: str, vendor: str | None = None
    ) -> VoiceSession:
        """Decline an invite."""
        vendor = await self._vendor(session_id, vendor)
        return self._client._apply(
            await self._client._api.reject(vendor, session_id, participant_id)
        )

    async def leave(self, session_id: str, *, vendor: str | None = None) -> VoiceSession:
        """Leave; the session ends when fewer than two parties remain."""
        return await self._simple("leave", session_id, vendor)

    async def cancel(self, session_id: str, *, vendor: str | None = None) -> VoiceSession:
        """Hang up while ringing (the caller): the session ends `cancelled`."""
        return await self._simple("cancel", session_id, vendor)

    async def rename(
        self, session_id: str, name: str, *, vendor: str | None = None
    ) -> VoiceSession:
        vendor = await self._vendor(session_id, vendor)
        return self._client._apply(await self._client._api.rename(vendor, session_id, name))

    async def join(self, session_id: str, *, vendor: str | None = None) -> VoiceJoinGrant:
        """A fresh media grant for your accepted participant."""
        vendor = await self._vendor(session_id, vendor)
        return await self._client._api.join(vendor, session_id)

    async def _simple(self, action: str, session_id: str, vendor: str | None) -> VoiceSession:
        vendor = await self._vendor(session_id, vendor)
        return self._client._apply(await self._client._api.simple(action, vendor, session_id))

    async def _vendor(self, session_id: str, vendor: str | None) -> str:
        self._client._check_open()
        if vendor is not None:
            return vendor
        if self._client.vendor is not None:
            return self._client.vendor
        for _ in range(2):
            known = self._store.sessions.get(session_id)
            if known is not None:
                return known.vendor
            invite = next(
                (i for i in self._store.invites.values() if i.session_id == session_id), None
            )
            if invite is not None:
                return invite.vendor
            await self.sync()
        raise CallpadError(
            f"Session {session_id} is not among yours; pass vendor= to address it.",
            code="session_not_found",
        )


class HostSessions(Sessions):
    """`Sessions` of a host client: `start` rings anyone on behalf of the client's vendor."""

    async def start(
        self,
        *,
        target: TargetInput | Mapping[str, Any],
        name: str = "",
        vendor: str | None = None,
        idempotency_key: str | None = None,
    ) -> SessionWithJoin:
        """Start a session: ring a member, a customer, a contact or a phone number."""
        return await super().start(
            vendor=vendor or self._client.vendor or "",
            target=target,
            name=name,
            idempotency_key=idempotency_key,
        )


class Invites(Mapping[str, Invite]):
    """Pending invites for the user (a read-only Mapping by invite id), expired locally at
    their `expires_at`."""

    def __init__(self, client: SessionClient) -> None:
        self._client = client
        self._store = client._store

    def __getitem__(self, invite_id: str) -> Invite:
        return self._store.invites[invite_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._store.invites)

    def __len__(self) -> int:
        return len(self._store.invites)

    def list(self) -> list[Invite]:
        """Pending invites, oldest first."""
        return sorted(self._store.invites.values(), key=lambda i: (i.created_at, i.id))

    async def next(self) -> Invite:
        """The next incoming invite: the oldest pending one no earlier `next()` returned,
        waiting for one to arrive if there is none. Bound the wait with `asyncio.timeout`."""
        self._client._check_open()
        return await self._store.next_invite()

    async def accept(self, invite: Invite) -> SessionWithJoin:
        return await self._client.sessions.accept(
            session_id=invite.session_id, participant_id=invite.participant_id, vendor=invite.vendor
        )

    async def reject(self, invite: Invite) -> VoiceSession:
        return await self._client.sessions.reject(
            session_id=invite.session_id, participant_id=invite.participant_id, vendor=invite.vendor
        )


class HostControls:
    """A host's controls over a session of the client's vendor."""

    def __init__(self, client: HostClient) -> None:
        self._client = client

    async def add_participant(
        self, session_id: str, target: TargetInput | Mapping[str, Any]
    ) -> VoiceSession:
        """Ring another party into the session: a member, a customer, a contact, a phone."""
        c = self._client
        c._check_open()
        return c._apply(await c._api.add_participant(c.vendor, session_id, parse_target(target)))

    async def remove_participant(self, session_id: str, participant_id: str) -> VoiceSession:
        """Remove a participant, or stop ringing them."""
        c = self._client
        c._check_open()
        return c._apply(await c._api.remove_participant(c.vendor, session_id, participant_id))

    async def start_recording(self, session_id: str) -> VoiceSession:
        """Start recording (`starting` until the media layer reports it `active`)."""
        c = self._client
        c._check_open()
        return c._apply(await c._api.start_recording(c.vendor, session_id))

    async def stop_recording(
        self, session_id: str, recording_id: str | None = None
    ) -> VoiceSession:
        """Stop `recording_id`, by default the session's live recording."""
        c = self._client
        c._check_open()
        if recording_id is None:
            session = c.sessions.get(session_id) or await c.sessions.fetch(session_id)
            live = session.live_recording
            if live is None:
                raise CallpadError(
                    "The session has no live recording.", status=None, code="invalid_state"
                )
            recording_id = live.id
        return c._apply(await c._api.stop_recording(c.vendor, session_id, recording_id))

    async def hold(self, session_id: str) -> VoiceSession:
        return await self._simple("hold", session_id)

    async def unhold(self, session_id: str) -> VoiceSession:
        return await self._simple("unhold", session_id)

    async def end(self, session_id: str) -> VoiceSession:
        """End the session for everyone."""
        return await self._simple("end", session_id)

    async def _simple(self, action: str, session_id: str) -> VoiceSession:
        c = self._client
        c._check_open()
        return c._apply(await c._api.simple(action, c.vendor, session_id))


class SessionClient:
    """A client for one signed-in user. Create it with `create_session_client`."""

    vendor: str | None

    def __init__(
        self,
        *,
        api_url: str,
        user_id: int,
        auth: Auth,
        vendor: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.api_url = _base_url(api_url)
        self.user_id = user_id
        self.vendor = vendor
        self._emitter = Emitter()
        self._store = Store(user_id, self._emitter)
        self._api = HttpApi(self.api_url, auth, transport=transport, timeout=timeout_s)
        self._realtime = Realtime(
            store=self._store,
            fetch_grant=lambda: self._api.realtime_grant(self.vendor),
            resync=self._sync,
            connect_timeout_s=connect_timeout_s,
        )
        self._sync_lock = asyncio.Lock()
        self._feed_known = False
        self._closed = False
        self.sessions = self._make_sessions()
        self.invites = Invites(self)

    def _make_sessions(self) -> Sessions:
        return Sessions(self)

    @property
    def status(self) -> ConnectionStatus:
        """The realtime connection: disconnected, connecting or connected."""
        return self._store.status

    # Lifecycle

    async def connect(self) -> None:
        """Open the realtime connection and sync the store; it then stays current."""
        self._check_open()
        await self._realtime.connect()
        self._feed_known = True
        await self._sync()

    async def disconnect(self) -> None:
        """Close the realtime connection; the store keeps what it had. connect() again."""
        await self._realtime.disconnect()

    async def dispose(self) -> None:
        """Disconnect and release everything; the client cannot be used again."""
        if self._closed:
            return
        self._closed = True
        await self._realtime.disconnect()
        await self._store.aclose()
        await self._emitter.aclose()
        await self._api.aclose()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

    def _check_open(self) -> None:
        if self._closed:
            raise CallpadClientClosedError()

    # Events

    @overload
    def on(
        self, name: Literal["status"], handler: Callable[[StatusChanged], _Ret]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, name: Literal["session.updated"], handler: Callable[[SessionUpdated], _Ret]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, name: Literal["session.removed"], handler: Callable[[SessionRemoved], _Ret]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, name: Literal["invite.received"], handler: Callable[[InviteReceived], _Ret]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self, name: Literal["invite.removed"], handler: Callable[[InviteRemoved], _Ret]
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal[
            "participant.invited",
            "participant.accepted",
            "participant.declined",
            "participant.withdrawn",
            "participant.left",
            "participant.removed",
        ],
        handler: Callable[[ParticipantChanged], _Ret],
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["dispatch.started", "dispatch.resolved", "dispatch.cancelled"],
        handler: Callable[[DispatchChanged], _Ret],
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["recording.started", "recording.stopped"],
        handler: Callable[[RecordingChanged], _Ret],
    ) -> Callable[[], None]: ...
    def on(self, name: EventName, handler: Callable[[Any], _Ret]) -> Callable[[], None]:
        """Call `handler(event)` on every `name` event; returns a function that unsubscribes.

        Handlers run in order on a task the client owns; async handlers are awaited. A
        handler that raises is logged and delivery goes on.
        """
        return self._emitter.on(name, handler)

    def off(self, name: EventName, handler: Callable[[Any], _Ret]) -> None:
        """Stop calling `handler` for `name`."""
        self._emitter.off(name, handler)

    async def watch(
        self, selector: Callable[[Self], T], *, interval: float | None = None
    ) -> AsyncIterator[T]:
        """Yield `selector(client)` now and whenever it changes (the Python form of the web
        SDK's hooks). `interval` re-evaluates it at least that often, for values that change
        with time such as `sessions.duration(id)`. Ends when the client is disposed.

            async for session in client.watch(lambda c: c.sessions.get(session_id)): ...
        """
        wake = self._store.watcher()
        last: Any = _UNSET
        try:
            while not self._closed:
                wake.clear()
                value = selector(self)
                if last is _UNSET or value != last:
                    last = value
                    yield value
                if self._closed:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), interval)
        finally:
            self._store.unwatch(wake)

    # The store's inputs

    def _apply(self, session: VoiceSession) -> VoiceSession:
        self._store.upsert_session(session)
        return session

    async def _sync(self) -> None:
        self._check_open()
        async with self._sync_lock:
            if not self._feed_known and self.vendor is not None:
                # Owners and admins see every session of the vendor: the grant says so.
                grant = await self._api.realtime_grant(self.vendor)
                self._store.reads_vendor_feed = any(c.startswith("vendor:") for c in grant.channels)
                self._feed_known = True
            self._store.begin_sync()
            try:
                if self.vendor is None:
                    sessions = await self._api.list_my_sessions()
                    invites = await self._api.my_invites()
                else:
                    sessions = await self._api.list_vendor_sessions(self.vendor)
                    invites = await self._api.vendor_invites(self.vendor)
            except BaseException:
                self._store.end_sync((), ())
                raise
            self._store.end_sync(sessions, invites)


class HostClient(SessionClient):
    """A client for a vendor's member. Create it with `create_host_client`."""

    vendor: str
    sessions: HostSessions

    def __init__(self, *, vendor: str, **kwargs: Any) -> None:
        super().__init__(vendor=vendor, **kwargs)
        self.host = HostControls(self)

    def _make_sessions(self) -> HostSessions:
        return HostSessions(self)


def create_session_client(
    *,
    api_url: str,
    user_id: int,
    auth: Auth,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
) -> SessionClient:
    """A client for a customer (or any user calling vendors).

    `api_url` is the server's base URL; `auth.get_access_token` returns the user's bearer
    token. Sessions and invites span every vendor; realtime uses the user's own channel.
    `transport` replaces the HTTP transport (e.g. `httpx.ASGITransport` in tests).
    """
    return SessionClient(
        api_url=api_url,
        user_id=user_id,
        auth=auth,
        transport=transport,
        timeout_s=timeout_s,
        connect_timeout_s=connect_timeout_s,
    )


def create_host_client(
    *,
    api_url: str,
    vendor: str,
    user_id: int,
    auth: Auth,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
) -> HostClient:
    """A client for a member of `vendor`: receives its invites, starts calls to customers,
    contacts and phones, and has host controls (`client.host`). Owners and admins see
    every live session of the vendor; agents see their own."""
    return HostClient(
        api_url=api_url,
        vendor=vendor,
        user_id=user_id,
        auth=auth,
        transport=transport,
        timeout_s=timeout_s,
        connect_timeout_s=connect_timeout_s,
    )
