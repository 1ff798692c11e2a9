"""What a client's namespaces (`sessions`, `invites`, `presence`) share with the client:
the HTTP API, the request options, the store and the joined media rooms. The client owns
one `ClientCore` and hands it to each namespace, so no namespace reaches into the client;
`with_options` gives a copy with other request options and the same everything else.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable

from ._errors import ClientClosedError
from ._http import HttpApi, RequestOptions
from ._media import Media
from ._models import VoiceSession
from ._store import Store

__all__ = ["ClientCore"]


class ClientCore:
    def __init__(
        self,
        *,
        user_id: int,
        vendor: str | None,
        api: HttpApi,
        options: RequestOptions,
        store: Store,
        media: Media,
        sync: Callable[[RequestOptions], Awaitable[None]],
    ) -> None:
        self.user_id = user_id
        self.vendor = vendor
        self.api = api
        self.options = options
        self.store = store
        self.media = media
        self._sync = sync

    def with_options(self, timeout: float | None, max_retries: int | None) -> ClientCore:
        other = copy.copy(self)
        other.options = self.options.merged(timeout, max_retries)
        return other

    def options_for(self, timeout: float | None, max_retries: int | None) -> RequestOptions:
        """The client's options, with a call's own `timeout` / `max_retries` if given."""
        return self.options.merged(timeout, max_retries)

    def check_open(self) -> None:
        if self.store.closed:
            raise ClientClosedError()

    def apply(self, session: VoiceSession) -> VoiceSession:
        """A session the server answered with, into the store; returned as is."""
        self.store.upsert_session(session)
        return session

    async def sync(self, options: RequestOptions) -> None:
        """Re-read every session, invite and presence from the server into the store."""
        await self._sync(options)
