"""`CALLPAD_MEDIA=livekit`: the media interface carried out on a real LiveKit server."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from jwt.warnings import InsecureKeyLengthWarning
from livekit import api

from ...config import DEV_LIVEKIT_SECRET, Settings
from ...domain import MediaCommand, RecordingState, Session, SipLegState
from ..base import MediaReport, MediaUnavailable, ReportSink
from ..recordings import recording_path
from ..reports import (
    RecordingReport,
    RecordingSavedReport,
    RecordingStartDeadlineReport,
    Report,
    SipCheckReport,
    SipReport,
)
from . import egress, rooms
from .dtmf import send_digits
from .permissions import recorder_grant, recorder_identity
from .sip import CHECK_S, check_leg, follow_leg

if TYPE_CHECKING:
    # The recorder needs the `livekit` client SDK and numpy (`callpad[livekit]`): imported
    # when a recording starts, so a server that never records does not load them.
    from .recorder import Recorder

__all__ = ["LiveKitMedia", "LiveKitUnavailable", "missing_recorder_packages"]

logger = logging.getLogger("callpad.media")


class LiveKitUnavailable(MediaUnavailable):
    """The LiveKit server did not answer its readiness check."""


def missing_recorder_packages(settings: Settings) -> str | None:
    """Why the built-in recorder cannot run here, if it cannot (checked at startup, so a
    missing extra is one line then, not a failed recording later)."""
    if settings.livekit_recorder != "builtin":
        return None
    missing = [name for name in ("livekit.rtc", "numpy") if not _installed(name)]
    if not missing:
        return None
    return (
        f"the built-in recorder needs {' and '.join(missing)}: install callpad[livekit] "
        "(or set CALLPAD_LIVEKIT_RECORDER=egress)"
    )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


class LiveKitMedia:
    """Rooms, permissions, phone legs and recordings through LiveKit's server API."""

    name = "livekit"
    actions = frozenset(
        {
            "dial",
            "hang_up",
            "remove",
            "hold",
            "close_room",
            "start_recording",
            "stop_recording",
            "send_dtmf",
            "check_sip_leg",
        }
    )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api_url = settings.resolved_livekit_api_url()
        self._lk: api.LiveKitAPI | None = None
        self._sink: ReportSink | None = None
        self._recorders: dict[str, asyncio.Task[None]] = {}
        self._stop_recorder: dict[str, Callable[[float | None], None]] = {}
        self._legs: set[asyncio.Task[None]] = set()
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

    def attach(self, sink: ReportSink) -> None:
        self._sink = sink

    async def aclose(self) -> None:
        """Stop the recorders (each writes its file and reports it), then the API client."""
        for stop in list(self._stop_recorder.values()):
            stop(None)  # each file ends now
        await asyncio.gather(*self._recorders.values(), return_exceptions=True)
        for leg in self._legs:
            leg.cancel()  # the calls go on in LiveKit; their hang-up comes as a webhook
        await asyncio.gather(*self._legs, return_exceptions=True)
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
        elif action == "dial" and command.participant_id and command.phone:
            self._dial(session, command.participant_id, command.phone)
            return [self._next_check(command.participant_id)]
        elif action == "check_sip_leg" and command.participant_id:
            seen = await check_leg(lk, session, command.participant_id)
            return [*(MediaReport(0, r) for r in seen), self._next_check(command.participant_id)]
        elif action == "send_dtmf" and command.participant_id and command.digits:
            await send_digits(self.settings, session.room, command.participant_id, command.digits)
        elif action in ("remove", "hang_up") and command.participant_id:
            await rooms.remove_from_room(lk, session.room, command.participant_id)
        elif action == "hold":
            await rooms.sync_permissions(lk, session)
        elif action == "start_recording" and command.recording_id:
            if self.settings.livekit_recorder == "egress":
                await egress.start_egress(lk, self.settings, session, command.recording_id)
            else:
                self._start_recorder(session, command.recording_id)
            return [self._start_deadline(command.recording_id)]
        elif action == "stop_recording" and command.recording_id:
            if self.settings.livekit_recorder == "egress":
                await egress.stop_egress(lk, session, command.recording_id)
            else:
                await self._stop_recording(session, command.recording_id)
        return []

    @staticmethod
    def _next_check(participant_id: str) -> MediaReport:
        """The leg's next look, a durable job (it stops once the leg is over)."""
        return MediaReport(CHECK_S, SipCheckReport(participant_id=participant_id))

    def _start_deadline(self, recording_id: str) -> MediaReport:
        """A durable job (any process runs it) that fails the recording if it has not
        started by then: nothing else would, when Egress or the recorder's process stalls."""
        timeout_s = self.settings.livekit_recording_start_timeout_s
        return MediaReport(
            timeout_s, RecordingStartDeadlineReport(recording_id=recording_id, timeout_s=timeout_s)
        )

    def _dial(self, session: Session, participant_id: str, phone: str) -> None:
        async def report(body: MediaReport) -> None:
            await self._report(session.id, body)

        async def leg() -> None:
            try:
                await follow_leg(self.lk, self.settings, session, participant_id, phone, report)
            except Exception as exc:
                logger.exception("phone leg %s failed", participant_id)
                failed = SipReport(
                    participant_id=participant_id,
                    state=SipLegState.FAILED,
                    error=f"media error: {exc}",
                )
                await report(MediaReport(0, failed))

        task = asyncio.get_running_loop().create_task(leg(), name=f"phone leg {participant_id}")
        self._legs.add(task)
        task.add_done_callback(self._legs.discard)

    # -- the built-in recorder -----------------------------------------------------------

    def _start_recorder(self, session: Session, recording_id: str) -> None:
        recording = next((r for r in session.recordings if r.id == recording_id), None)
        if recording is None or not recording.is_live or recording_id in self._recorders:
            return
        from .recorder import Recorder

        token = recorder_grant(self.settings, session.room, recording_id)
        path = recording_path(self.settings, session.id, recording_id)
        recorder = Recorder(
            self.settings.livekit_url, token, path, recording.started_at.timestamp()
        )
        task = asyncio.get_running_loop().create_task(
            self._record(session.id, recording_id, recorder), name=f"recorder {recording_id}"
        )
        self._recorders[recording_id] = task
        self._stop_recorder[recording_id] = recorder.stop

    async def _record(self, session_id: str, recording_id: str, recorder: Recorder) -> None:
        from .recorder import RECORDING_FORMAT

        def report(observed: Report) -> MediaReport:
            return MediaReport(0, observed)

        try:
            joined = asyncio.get_running_loop().create_task(recorder.joined.wait())
            run = asyncio.get_running_loop().create_task(recorder.run())
            await asyncio.wait({joined, run}, return_when=asyncio.FIRST_COMPLETED)
            if recorder.joined.is_set():
                active = RecordingReport(recording_id=recording_id, state=RecordingState.ACTIVE)
                await self._report(session_id, report(active))
            joined.cancel()
            saved = await run
            await self._report(
                session_id,
                report(
                    RecordingSavedReport(
                        recording_id=recording_id,
                        duration_s=saved.duration_s,
                        size_bytes=saved.size_bytes,
                        format=RECORDING_FORMAT,
                    )
                ),
            )
        except Exception as exc:
            logger.exception("recorder %s failed", recording_id)
            failed = RecordingReport(
                recording_id=recording_id, state=RecordingState.FAILED, error=f"recorder: {exc}"
            )
            await self._report(session_id, report(failed))
        finally:
            self._recorders.pop(recording_id, None)
            self._stop_recorder.pop(recording_id, None)

    async def _report(self, session_id: str, report: MediaReport) -> None:
        if self._sink is not None:
            await self._sink(session_id, report)

    async def _stop_recording(self, session: Session, recording_id: str) -> None:
        """Stop the recorder: here if this process runs it, else by taking it out of the
        room (the process that runs it sees it disconnected, and writes the file)."""
        stop = self._stop_recorder.get(recording_id)
        if stop is not None:
            recording = next((r for r in session.recordings if r.id == recording_id), None)
            stopped_at = recording.stopped_at if recording is not None else None
            # The file ends when the recording was stopped, not when this job ran.
            stop(stopped_at.timestamp() if stopped_at is not None else None)
            return
        await rooms.remove_from_room(self.lk, session.room, recorder_identity(recording_id))
