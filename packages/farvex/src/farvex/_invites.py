"""`client.invites`: the user's pending invites in the store, and answering them."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from ._capabilities import Action, capability_for
from ._models import Capability, Invite, SessionWithJoin, VoiceSession

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._sessions import Sessions

__all__ = ["Invites"]


class Invites:
    """Pending invites for the user, dropped at their `expires_at` (by the server's clock)
    even when no removal arrives."""

    def __init__(self, core: ClientCore, sessions: Sessions) -> None:
        self._core = core
        self._sessions = sessions
        self._store = core.store

    def __len__(self) -> int:
        """How many the store holds."""
        return len(self._store.invites)

    def __contains__(self, key: object) -> bool:
        """Does the store hold this id?"""
        return key in self._store.invites

    def get(self, invite_id: str) -> Invite | None:
        """The pending invite with this id, or None."""
        return self._store.invites.get(invite_id)

    def list(self) -> builtins.list[Invite]:
        """Pending invites, oldest first."""
        return sorted(self._store.invites.values(), key=lambda i: (i.created_at, i.id))

    def can(self, invite: Invite | str, action: Action | Capability) -> bool:
        """May the user take `action` (`"accept"`, `"reject"`) on the invite now? Checked
        against the capabilities the server sent with the invite's participant (kept
        current by the session's changes when the app receives them)."""
        found = self._store.invites.get(invite) if isinstance(invite, str) else invite
        if found is None:
            return False
        return capability_for(action) in found.participant.capabilities

    async def next(self) -> Invite:
        """The next incoming invite: the oldest pending one no earlier `next()` returned,
        waiting for one to arrive if there is none. Bound the wait with `asyncio.timeout`."""
        self._core.check_open()
        return await self._store.next_invite()

    async def accept(
        self,
        invite: Invite,
        *,
        join_media: bool | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> SessionWithJoin:
        """Answer the invite: `sessions.accept` for its session and participant."""
        return await self._sessions.accept(
            invite.session_id,
            participant_id=invite.participant_id,
            vendor=invite.vendor,
            join_media=join_media,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def reject(
        self,
        invite: Invite,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> VoiceSession:
        """Decline the invite: `sessions.reject` for its session and participant."""
        return await self._sessions.reject(
            invite.session_id,
            participant_id=invite.participant_id,
            vendor=invite.vendor,
            timeout=timeout,
            max_retries=max_retries,
        )
