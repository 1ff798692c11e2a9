"""The clients: `create_session_client` (customers and apps) and `create_host_client`
(a vendor's members: agents, desktops, voice bots).

    SessionClient
      .sessions   Sessions: the live sessions in the store, and the session actions
      .invites    Invites: the pending invites in the store, next(), accept(), reject()
      .status     the realtime connection
      on/off/watch, connect/disconnect/dispose, async with, with_options
    HostClient(SessionClient)
      .vendor     the vendor slug every call is scoped to
      .sessions   HostSessions: also add/remove participants, recording, hold, end
      .presence   MemberPresence: the members' presence, set(), refresh()
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, Self, TypeVar, overload

import httpx

from ._core import ClientCore
from ._errors import ConfigurationError
from ._events import (
    DispatchChanged,
    Emitter,
    EventName,
    InviteReceived,
    InviteRemoved,
    ParticipantChanged,
    PresenceChanged,
    RecordingChanged,
    SessionRemoved,
    SessionUpdated,
    StatusChanged,
)
from ._http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, Auth, HttpApi, RequestOptions
from ._invites import Invites
from ._media import Media
from ._models import ConnectionStatus
from ._presence import MemberPresence
from ._realtime import Realtime
from ._sessions import HostSessions, Sessions
from ._store import Store

__all__ = [
    "HostClient",
    "SessionClient",
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


class SessionClient:
    """A client for one signed-in user. Create it with `create_session_client`."""

    vendor: str | None
    sessions: Sessions

    def __init__(
        self,
        *,
        api_url: str,
        user_id: int,
        auth: Auth,
        vendor: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        connect_timeout: float = 10.0,
        as_customer: bool = False,
        join_media: bool = True,
    ) -> None:
        self.api_url = _base_url(api_url)
        self._as_customer = as_customer
        self.user_id = user_id
        self.vendor = vendor
        self._options = RequestOptions(timeout=timeout, max_retries=max_retries)
        self._api = HttpApi(self.api_url, auth, user_id=user_id, transport=transport)
        self._emitter = Emitter()
        self._store = Store(user_id, self._emitter, clock=self._api.server_now)
        # Rooms are part of what `watch()` sees: joining or leaving one wakes watchers.
        self._media = Media(join_by_default=join_media, on_change=self._store.wake_watchers)
        self._realtime = Realtime(
            store=self._store,
            fetch_grant=lambda: self._api.realtime_grant(self.vendor, self._options),
            resync=lambda: self._sync(self._options),
            connect_timeout=connect_timeout,
        )
        self._sync_lock = asyncio.Lock()
        self._feed_known = False
        self._core = ClientCore(
            user_id=user_id,
            vendor=vendor,
            api=self._api,
            options=self._options,
            store=self._store,
            media=self._media,
            sync=self._sync,
        )
        self._bind()
        # A joined room is left when its session leaves the store.
        self._emitter.on("session.removed", self._leave_media)

    async def _leave_media(self, event: SessionRemoved) -> None:
        await self._media.leave(event.session_id)

    def _bind(self) -> None:
        self.sessions = self._make_sessions()
        self.invites = Invites(self._core, self.sessions)

    def _make_sessions(self) -> Sessions:
        return Sessions(self._core)

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None) -> Self:
        """This client with other request options, for one-off calls:

            await client.with_options(timeout=5, max_retries=0).sessions.end(session_id)

        The copy shares everything else (the store, the connection, the events); disposing
        either disposes both.
        """
        other = copy.copy(self)
        other._core = self._core.with_options(timeout, max_retries)
        other._options = other._core.options
        other._bind()
        return other

    @property
    def status(self) -> ConnectionStatus:
        """The realtime connection: disconnected, connecting or connected."""
        return self._store.status

    # Lifecycle

    async def connect(self) -> None:
        """Open the realtime connection and sync the store; it then stays current."""
        self._check_open()
        grant = await self._api.realtime_grant(self.vendor, self._options)
        if self.vendor is None and grant.member_of and not self._as_customer:
            vendors = ", ".join(grant.member_of)
            raise ConfigurationError(
                f"User {self.user_id} is a member of {vendors}: a session client would not "
                "receive what those vendors send a member (invites ring on vendor channels). "
                f"Use create_host_client(vendor={grant.member_of[0]!r}, ...) for that work, or "
                "pass as_customer=True if this client only calls vendors as a customer."
            )
        await self._realtime.connect(grant)
        self._feed_known = True
        await self._sync(self._options)

    async def disconnect(self) -> None:
        """Close the realtime connection; the store keeps what it had. connect() again."""
        await self._realtime.disconnect()

    async def dispose(self) -> None:
        """Disconnect and release everything; the client cannot be used again."""
        if self._store.closed:
            return
        await self._realtime.disconnect()
        await self._media.aclose()
        await self._store.aclose()
        await self._emitter.aclose()
        await self._api.aclose()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

    def _check_open(self) -> None:
        self._core.check_open()

    # Events

    @overload
    def on(
        self,
        name: Literal["status"],
        handler: Callable[[StatusChanged], _Ret],
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["session.updated"],
        handler: Callable[[SessionUpdated], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["session.removed"],
        handler: Callable[[SessionRemoved], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["invite.received"],
        handler: Callable[[InviteReceived], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["invite.removed"],
        handler: Callable[[InviteRemoved], _Ret],
        *,
        session_id: str | None = None,
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
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["dispatch.started", "dispatch.resolved", "dispatch.cancelled"],
        handler: Callable[[DispatchChanged], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["recording.started", "recording.stopped"],
        handler: Callable[[RecordingChanged], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]: ...
    @overload
    def on(
        self,
        name: Literal["presence.updated"],
        handler: Callable[[PresenceChanged], _Ret],
    ) -> Callable[[], None]: ...
    def on(
        self,
        name: EventName,
        handler: Callable[[Any], _Ret],
        *,
        session_id: str | None = None,
    ) -> Callable[[], None]:
        """Call `handler(event)` on every `name` event (of one session with `session_id`);
        returns a function that unsubscribes.

        Handlers run in order on a task the client owns; async handlers are awaited. A
        handler that raises is logged and delivery goes on. Each event carries the state
        it describes: the store may have moved on by the time the handler runs.
        """
        return self._emitter.on(name, handler, session_id=session_id)

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
            while not self._store.closed:
                wake.clear()
                value = selector(self)
                if last is _UNSET or value != last:
                    last = value
                    yield value
                if self._store.closed:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), interval)
        finally:
            self._store.unwatch(wake)

    # The store's inputs

    async def _sync(self, options: RequestOptions) -> None:
        self._check_open()
        async with self._sync_lock:
            if not self._feed_known and self.vendor is not None:
                # Owners and admins see every session of the vendor: the grant says so.
                grant = await self._api.realtime_grant(self.vendor, options)
                self._store.read_feeds_of(grant.channels)
                self._feed_known = True
            self._store.begin_sync()
            try:
                if self.vendor is None:
                    sessions = await self._api.list_my_sessions(options)
                    invites = await self._api.my_invites(options)
                else:
                    sessions = await self._api.list_vendor_sessions(self.vendor, options)
                    invites = await self._api.vendor_invites(self.vendor, options)
                presence = (
                    await self._api.list_presence(self.vendor, options)
                    if self.vendor is not None
                    else []
                )
            except BaseException:
                self._store.end_sync((), ())
                raise
            self._store.end_sync(sessions, invites)
            for member in presence:
                self._store.upsert_presence(member)


class HostClient(SessionClient):
    """A client for a vendor's member. Create it with `create_host_client`."""

    vendor: str
    sessions: HostSessions
    presence: MemberPresence

    def __init__(self, *, vendor: str, **kwargs: Any) -> None:
        super().__init__(vendor=vendor, **kwargs)

    def _bind(self) -> None:
        super()._bind()
        self.presence = MemberPresence(self._core, self.vendor)

    def _make_sessions(self) -> HostSessions:
        return HostSessions(self._core, self.vendor)


def create_session_client(
    *,
    api_url: str,
    user_id: int,
    auth: Auth,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    connect_timeout: float = 10.0,
    as_customer: bool = False,
    join_media: bool = True,
) -> SessionClient:
    """A client for a customer (or any user calling vendors).

    `api_url` is the server's base URL; `auth.get_access_token` returns the user's bearer
    token, whose subject must be `user_id`. Sessions and invites span every vendor;
    realtime uses the user's own channel. `timeout` (seconds per attempt) and
    `max_retries` apply to every request unless a call or `with_options` says otherwise;
    `connect_timeout` bounds the realtime connect. `transport` replaces the HTTP transport
    (e.g. `httpx.ASGITransport` in tests).

    A vendor's member receives that vendor's invites only on a host client: `connect()`
    raises `ConfigurationError` for a member unless `as_customer=True` says this client
    only calls vendors as a customer. `join_media=False` stops `start()` and `accept()`
    from joining the LiveKit room by default (they do when the `livekit` extra is
    installed).
    """
    return SessionClient(
        api_url=api_url,
        user_id=user_id,
        auth=auth,
        transport=transport,
        timeout=timeout,
        max_retries=max_retries,
        connect_timeout=connect_timeout,
        as_customer=as_customer,
        join_media=join_media,
    )


def create_host_client(
    *,
    api_url: str,
    vendor: str,
    user_id: int,
    auth: Auth,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    connect_timeout: float = 10.0,
    join_media: bool = True,
) -> HostClient:
    """A client for a member of `vendor`: receives its invites, starts calls to customers,
    contacts and phones, and has the host's controls (`client.sessions.hold(...)`, ...).
    Owners and admins see every live session of the vendor; agents see their own. The
    options are `create_session_client`'s."""
    return HostClient(
        api_url=api_url,
        vendor=vendor,
        user_id=user_id,
        auth=auth,
        transport=transport,
        timeout=timeout,
        max_retries=max_retries,
        connect_timeout=connect_timeout,
        join_media=join_media,
    )
