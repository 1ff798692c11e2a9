"""Joining the media room: with the `livekit` extra installed, `sessions.start()` and
`accept()` connect a LiveKit room for the session (opt out with `join_media=False`).

The client owns the rooms it joined: a room is left when its session leaves the store
(ended, or the user left) and when the client is disposed. Without the extra, nothing is
joined and the grant is the app's to use (`farvex.livekit.join_room`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._errors import MediaConnectionError
from ._models import SessionWithJoin

if TYPE_CHECKING:
    from livekit import rtc

__all__ = ["Media", "livekit_installed"]

logger = logging.getLogger("farvex")


def livekit_installed() -> bool:
    """Is LiveKit's real-time SDK (the `livekit` extra) importable?"""
    return importlib.util.find_spec("livekit.rtc") is not None


class Media:
    """The LiveKit rooms a client joined, by session id."""

    def __init__(self, join_by_default: bool, on_change: Callable[[], None]) -> None:
        self.join_by_default = join_by_default
        self._on_change = on_change  # a room was joined or left
        self._rooms: dict[str, rtc.Room] = {}

    def room(self, session_id: str) -> rtc.Room | None:
        return self._rooms.get(session_id)

    async def join(self, answer: SessionWithJoin, join_media: bool | None) -> None:
        """Join the answer's room if asked to (or by default with the extra installed)."""
        wanted = self.join_by_default and livekit_installed() if join_media is None else join_media
        if not wanted or answer.join is None or answer.session.id in self._rooms:
            return
        if not livekit_installed():
            raise MediaConnectionError(
                "join_media=True needs LiveKit's real-time SDK: pip install 'farvex[livekit]'",
                url=answer.join.url,
                cause="livekit is not installed",
                answer=answer,
            )
        from .livekit import join_room

        try:
            room = await join_room(answer.join)
        except Exception as exc:
            raise MediaConnectionError(
                f"the session {answer.session.id} started, but its media room at "
                f"{answer.join.url} could not be joined: {exc!r}",
                url=answer.join.url,
                cause=repr(exc),
                answer=answer,
            ) from exc
        logger.debug("farvex: joined media room %s", answer.join.room)
        self._rooms[answer.session.id] = room
        self._on_change()

    async def leave(self, session_id: str) -> None:
        room = self._rooms.pop(session_id, None)
        if room is not None:
            logger.debug("farvex: leaving the media room of %s", session_id)
            self._on_change()
            await room.disconnect()

    async def aclose(self) -> None:
        for session_id in list(self._rooms):
            await self.leave(session_id)
