"""`host_client.presence`: the vendor's members' presence, and setting your own."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Literal

from ._models import Presence

if TYPE_CHECKING:
    from ._core import ClientCore

__all__ = ["MemberPresence"]


class MemberPresence:
    """Whether the vendor's members take calls. Team calls ring only `available`
    members; the store follows every change (`presence.updated`) once connected."""

    def __init__(self, core: ClientCore, vendor: str) -> None:
        self._core = core
        self._vendor = vendor
        self._store = core.store

    def get(self, user_id: int) -> Presence | None:
        """A member's presence as the store holds it (None: never set, so offline)."""
        return self._store.presence.get(user_id)

    def list(self) -> builtins.list[Presence]:
        """Every member's presence the store holds, by user id."""
        return [self._store.presence[u] for u in sorted(self._store.presence)]

    @property
    def me(self) -> Presence | None:
        """The client's own presence."""
        return self.get(self._core.user_id)

    async def set(
        self,
        status: Literal["available", "away", "offline"],
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Presence:
        """Set your presence: `available` takes team calls (and ends after-call work
        early); `away` and `offline` take none."""
        core = self._core
        core.check_open()
        presence = await core.api.set_presence(
            self._vendor, status, core.options_for(timeout, max_retries)
        )
        self._store.upsert_presence(presence)
        return presence

    async def refresh(
        self, *, timeout: float | None = None, max_retries: int | None = None
    ) -> builtins.list[Presence]:
        """Fetch every member's presence into the store (done on connect and re-sync)."""
        core = self._core
        core.check_open()
        found = await core.api.list_presence(self._vendor, core.options_for(timeout, max_retries))
        for presence in found:
            self._store.upsert_presence(presence)
        return self.list()
