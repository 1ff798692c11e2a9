"""`CALLPAD_MEDIA=livekit`: the media interface carried out on a real LiveKit server."""

from __future__ import annotations

import warnings
from typing import Any

import aiohttp
import httpx
from jwt.warnings import InsecureKeyLengthWarning
from livekit import api

from ...config import DEV_LIVEKIT_SECRET, Settings
from ...domain import MediaCommand, Session
from ..base import MediaReport, MediaUnavailable
from . import rooms

__all__ = ["LiveKitMedia", "LiveKitUnavailable"]


class LiveKitUnavailable(MediaUnavailable):
    """The LiveKit server did not answer its readiness check."""


class LiveKitMedia:
    """Rooms, permissions, phone legs and recordings through LiveKit's server API."""

    name = "livekit"
    has_audio = True
    actions = frozenset({"open_room", "remove", "hold", "close_room"})

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api_url = settings.resolved_livekit_api_url()
        self._lk: api.LiveKitAPI | None = None
        if settings.livekit_api_secret == DEV_LIVEKIT_SECRET:
            # `livekit-server --dev` signs with a 6-byte secret; only ever a dev default.
            warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "audio": True,
            "url": self.settings.livekit_url,
            "note": f"livekit media at {self.settings.livekit_url}",
        }

    async def check(self) -> None:
        """Raise `LiveKitUnavailable` unless the server answers its readiness check."""
        try:
            async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
                answer = await client.get(self.api_url.rstrip("/") + "/")
        except httpx.HTTPError as exc:
            raise LiveKitUnavailable(f"LiveKit at {self.api_url} does not answer: {exc}") from exc
        if answer.status_code != 200:
            raise LiveKitUnavailable(
                f"LiveKit at {self.api_url} is not ready (HTTP {answer.status_code})"
            )

    async def aclose(self) -> None:
        if self._lk is not None:
            await self._lk.aclose()
            self._lk = None

    @property
    def lk(self) -> api.LiveKitAPI:
        """The server API client, made in the running event loop on first use."""
        if self._lk is None:
            self._lk = api.LiveKitAPI(
                self.api_url,
                self.settings.livekit_api_key,
                self.settings.livekit_api_secret,
                failover=False,  # one self-hosted server, no cloud regions to fail over to
            )
        return self._lk

    async def open_room(self, session: Session) -> None:
        try:
            await rooms.open_room(self.lk, self.settings, session)
        except (api.TwirpError, aiohttp.ClientError, TimeoutError) as exc:
            raise LiveKitUnavailable(f"LiveKit could not open the room: {exc}") from exc

    async def execute(self, session: Session, command: MediaCommand) -> list[MediaReport]:
        lk, action = self.lk, command.action
        if action == "close_room":
            await rooms.close_room(lk, session.room)
        elif action == "remove" and command.participant_id:
            await rooms.remove_from_room(lk, session.room, command.participant_id)
        elif action == "hold":
            await rooms.sync_permissions(lk, session)
        return []
