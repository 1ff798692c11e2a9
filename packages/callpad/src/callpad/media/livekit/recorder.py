"""The built-in recorder: a hidden participant that joins the session's room with the
`livekit` SDK, subscribes to every audio track, mixes them and writes a WAV file.

It needs nothing but the LiveKit server (Egress needs its own service, GStreamer and
Redis). The mix is laid on the recording's own clock: sample 0 is the moment the
recording was asked for, each track's audio is placed where it arrived, and silence
fills the rest, so the file lasts as long as the recording did.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from livekit import rtc

from .joining import join_within, leave_within

__all__ = ["RECORDING_FORMAT", "Recorder", "SavedAudio"]

logger = logging.getLogger("callpad.media.recorder")

RECORDING_FORMAT = "audio/wav"
SAMPLE_RATE = 48_000
# Joining, leaving and a track stream's close wait on the client's native layer, which has
# no bound of its own (joining.py); each takes well under a second.
STEP_S = 10.0


@dataclass(frozen=True, slots=True)
class SavedAudio:
    duration_s: float
    size_bytes: int


class _Mix:
    """A growing mono timeline that tracks are added into."""

    def __init__(self) -> None:
        self.samples = np.zeros(SAMPLE_RATE * 60, dtype=np.int32)

    def add(self, at: int, pcm: np.ndarray) -> None:
        end = at + len(pcm)
        if end > len(self.samples):
            grown = np.zeros(max(end, 2 * len(self.samples)), dtype=np.int32)
            grown[: len(self.samples)] = self.samples
            self.samples = grown
        self.samples[at:end] += pcm

    def pcm16(self, length: int) -> bytes:
        out = np.zeros(length, dtype=np.int32)
        kept = min(length, len(self.samples))
        out[:kept] = self.samples[:kept]
        return np.clip(out, -32768, 32767).astype(np.int16).tobytes()


class Recorder:
    """Records one room until `stop()`, or until it is disconnected (the room closed, or
    another server process removed it), then writes `path`."""

    def __init__(self, url: str, token: str, path: Path, started_at: float) -> None:
        self.url = url
        self.token = token
        self.path = path
        self.started_at = started_at  # wall-clock seconds: sample 0 of the file
        self.joined = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stop_at: float | None = None
        self._room = rtc.Room()
        self._mix = _Mix()
        self._tasks: set[asyncio.Task[None]] = set()

    def stop(self, at: float | None = None) -> None:
        """Stop recording; the file ends at `at` (wall-clock seconds: when the recording
        was stopped, however late this is called), or now."""
        self._stop_at = at
        self._stopped.set()

    async def run(self) -> SavedAudio:
        """Join, record, and write the file; the file is written even when cancelled."""
        self._room.on("track_subscribed", self._on_track)
        self._room.on("disconnected", lambda *_: self._stopped.set())
        try:
            options = rtc.RoomOptions(auto_subscribe=True, connect_timeout=STEP_S)
            if not await join_within(self._room, self.url, self.token, options, STEP_S):
                raise TimeoutError(f"joining the room did not finish in {STEP_S:g} s")
            for participant in self._room.remote_participants.values():
                for publication in participant.track_publications.values():
                    if publication.track is not None:
                        self._on_track(publication.track, publication, participant)
            self.joined.set()
            await self._stopped.wait()
        finally:
            ended_at = min(time.time(), self._stop_at or math.inf)
            await leave_within(self._room, STEP_S)
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                _, stuck = await asyncio.wait(self._tasks, timeout=STEP_S)
                if stuck:  # what was mixed in is written all the same
                    logger.warning("recorder: %d track streams did not close", len(stuck))
        return await asyncio.to_thread(self._write, ended_at)

    def _on_track(
        self,
        track: rtc.Track,
        _publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        stream = rtc.AudioStream.from_track(track=track, sample_rate=SAMPLE_RATE, num_channels=1)
        task = asyncio.get_running_loop().create_task(self._record(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, stream: rtc.AudioStream) -> None:
        position: int | None = None
        try:
            async for event in stream:
                pcm = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.int32)
                if position is None:
                    # Where this track's first frame belongs on the recording's clock.
                    arrived = time.time() - event.frame.duration
                    position = max(0, round((arrived - self.started_at) * SAMPLE_RATE))
                self._mix.add(position, pcm)
                position += len(pcm)
        finally:
            await stream.aclose()

    def _write(self, ended_at: float) -> SavedAudio:
        length = max(0, round((ended_at - self.started_at) * SAMPLE_RATE))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(self._mix.pcm16(length))
        partial.replace(self.path)  # a reader never sees a half-written file
        return SavedAudio(length / SAMPLE_RATE, self.path.stat().st_size)
