"""The realtime connection: an unmodified centrifuge-python client feeding the store.

The server subscribes the connection to the channels of its grant. Each publication is
`{topic, data}` and is applied to the store. When a reconnect could not recover what was
missed (`was_recovering` and not `recovered`: history gone, or a restarted server), the
store re-syncs over HTTP. centrifuge-python reconnects by itself with backoff; a fresh
grant is fetched whenever it needs a new token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from centrifuge import (
    Client,
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    OperationTimeoutError,
    ServerPublicationContext,
    ServerSubscribedContext,
    UnauthorizedError,
)

from ._errors import APIStatusError, CallpadError, RealtimeConnectionError
from ._models import ConnectionStatus, Invite, Presence, RealtimeGrant, VoiceSession
from ._store import Store

__all__ = ["Realtime"]

logger = logging.getLogger("farvex")

_RESYNC_DELAYS_S = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


class Realtime(ClientEventHandler):
    """One realtime connection of one client. Owns its re-sync task."""

    def __init__(
        self,
        *,
        store: Store,
        fetch_grant: Callable[[], Awaitable[RealtimeGrant]],
        resync: Callable[[], Awaitable[None]],
        connect_timeout: float = 10.0,
    ) -> None:
        self._store = store
        self._fetch_grant = fetch_grant
        self._resync = resync
        self._connect_timeout = connect_timeout
        self._last_problem: str | None = None  # why the connection last failed, for errors
        self._client: Client | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self.resyncs = 0  # re-syncs after unrecovered reconnects, for tests and metrics

    @property
    def active(self) -> bool:
        return self._client is not None

    async def connect(self, grant: RealtimeGrant | None = None) -> None:
        """Connect with `grant` (a fresh one by default)."""
        if self._client is not None:
            return
        grant = grant or await self._fetch_grant()
        self._note_grant(grant)
        client = Client(grant.url, events=self, token=grant.token, get_token=self._fresh_token)
        self._client = client
        self._last_problem = None
        logger.debug("farvex: realtime connecting to %s (%s)", grant.url, ", ".join(grant.channels))
        await client.connect()
        try:
            await client.ready(timeout=self._connect_timeout)
        except OperationTimeoutError as exc:
            await self.disconnect()
            cause = self._last_problem or "no answer"
            raise RealtimeConnectionError(
                f"realtime did not connect to {grant.url} within {self._connect_timeout} s: "
                f"{cause}",
                url=grant.url,
                cause=cause,
            ) from exc
        except Exception as exc:  # e.g. ClientDisconnectedError: the server refused us
            await self.disconnect()
            cause = self._last_problem or repr(exc)
            raise RealtimeConnectionError(
                f"realtime connection to {grant.url} failed: {cause}", url=grant.url, cause=cause
            ) from exc

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        await self._cancel_resync()
        if client is not None:
            await client.disconnect()
        self._store.set_status(ConnectionStatus.DISCONNECTED)

    def _note_grant(self, grant: RealtimeGrant) -> None:
        self._store.read_feeds_of(grant.channels)

    def note_feed(self, channel: str) -> None:
        """This connection also reads the vendor feed `channel` (farvex.testing.publish)."""
        self._store.read_feeds_of([channel, *(f"vendor:{v}" for v in self._store.feed_vendors)])

    async def _fresh_token(self) -> str:
        try:
            grant = await self._fetch_grant()
        except APIStatusError as exc:
            if exc.status in (401, 403):
                raise UnauthorizedError() from exc
            raise
        self._note_grant(grant)
        return grant.token

    # centrifuge-python's events. None of them may raise: a raising handler stops the client.

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        logger.debug("farvex: realtime connecting (%s %s)", ctx.code, ctx.reason)
        self._store.set_status(ConnectionStatus.CONNECTING)

    async def on_connected(self, ctx: ConnectedContext) -> None:
        logger.debug("farvex: realtime connected (client %s)", ctx.client)
        self._store.set_status(ConnectionStatus.CONNECTED)

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        logger.info("farvex: realtime disconnected (%s %s)", ctx.code, ctx.reason)
        self._last_problem = f"disconnected: {ctx.code} {ctx.reason}"
        self._store.set_status(ConnectionStatus.DISCONNECTED)

    async def on_error(self, ctx: ErrorContext) -> None:
        logger.info("farvex: realtime error %s: %r", ctx.code, ctx.error)
        self._last_problem = f"{ctx.error!r}"

    async def on_subscribed(self, ctx: ServerSubscribedContext) -> None:
        if ctx.was_recovering and not ctx.recovered:
            logger.info("farvex: %s not recovered; re-syncing over HTTP", ctx.channel)
            await self._start_resync()

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        try:
            self.apply(ctx.pub.data)
        except Exception:
            logger.exception("farvex: could not apply a publication on %s", ctx.channel)

    def apply(self, message: Any) -> None:
        """Apply one `{topic, data}` publication to the store."""
        topic, data = message.get("topic"), message.get("data")
        store = self._store
        if topic == "session.upsert":
            store.upsert_session(VoiceSession.model_validate(data))
        elif topic == "session.remove":
            store.remove_session(str(data["session_id"]), int(data["version"]))
        elif topic == "session.invite.upsert":
            store.upsert_invite(Invite.model_validate(data))
        elif topic == "session.invite.remove":
            reason = data.get("state_reason")
            store.remove_invite(
                str(data["invite_id"]),
                str(data.get("state", "withdrawn")),
                str(reason) if reason is not None else None,
            )
        elif topic == "presence.upsert":
            store.upsert_presence(Presence.model_validate(data))
        # Topics this SDK version does not know are ignored.

    # Re-sync after an unrecovered reconnect

    async def _start_resync(self) -> None:
        await self._cancel_resync()
        self._resync_task = asyncio.get_running_loop().create_task(
            self._resync_until_done(), name="farvex-resync"
        )

    async def _cancel_resync(self) -> None:
        task, self._resync_task = self._resync_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _resync_until_done(self) -> None:
        for delay in _RESYNC_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                await self._resync()
            except CallpadError as exc:
                logger.warning("farvex: re-sync failed (%s); retrying", exc)
                continue
            self.resyncs += 1
            return
        logger.error("farvex: re-sync kept failing; the store may be stale until reconnect")
