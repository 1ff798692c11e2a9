"""Real audio for the media tests and `bench/media.py`: a `livekit` client that joins a room
with a token, publishes a sine tone of its own frequency, and keeps what it hears.

Each party hears the others through `AudioStream.from_participant`, which follows a
participant's microphone across republishing. `level(freq, window_s)` measures the
amplitude (0..1 of full scale) at a frequency in the last `window_s` seconds of received
audio, so a test can say "the customer hears the agent's 880 Hz" or "hears nothing".
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any

import numpy as np
from callpad.media.livekit.joining import join_within
from livekit import rtc

from .hangs import STEP_S, StepHung, bounded, task_stacks

__all__ = ["SAMPLE_RATE", "ToneParty", "tone_level"]

SAMPLE_RATE = 48_000
FRAME_MS = 10
AMPLITUDE = 0.3  # of full scale: a tone at this level measures about 0.3
HEARD = 0.05  # a level above this: the tone is heard
SILENT = 0.01  # a level below this: nothing of the tone gets through


def tone_level(samples: np.ndarray, freq: float, rate: int = SAMPLE_RATE) -> float:
    """The amplitude of `freq` in `samples` (int16 PCM), as a fraction of full scale: the
    mean over 100 ms blocks, so a frame lost or concealed on the way (which breaks the
    tone's phase) does not cancel it out."""
    block = rate // 10
    levels = [
        _block_level(samples[start : start + block], freq, rate)
        for start in range(0, max(1, len(samples) - block // 2), block)
    ]
    return float(np.mean(levels)) if levels else 0.0


def _block_level(samples: np.ndarray, freq: float, rate: int) -> float:
    if len(samples) == 0:
        return 0.0
    x = samples.astype(np.float64) / 32768.0
    component = np.dot(x, _probe(len(x), freq, rate))
    return float(2 * abs(component) / len(x))


@functools.lru_cache(maxsize=64)
def _probe(n: int, freq: float, rate: int) -> np.ndarray:
    probe: np.ndarray = np.exp(-2j * np.pi * freq * np.arange(n) / rate)
    return probe


class ToneParty:
    """One client in a room: publishes `freq` Hz, records what it receives, with times."""

    def __init__(self, name: str, freq: float) -> None:
        self.name = name
        self.freq = freq
        self.room = rtc.Room()
        self.identity = ""
        self.disconnect_reasons: list[int] = []
        self.disconnected = asyncio.Event()
        # Per sending participant (sid): (monotonic time received, samples), the last 30 s.
        self._heard: dict[str, deque[tuple[float, np.ndarray]]] = {}
        self._first_tone_at: dict[float, float] = {}
        self._source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=FRAME_MS * 2)
        self._track = rtc.LocalAudioTrack.create_audio_track(f"{name}-mic", self._source)
        self._publication_sid: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening: set[str] = set()
        self._watched: set[float] = set()
        self._may_publish = True
        self._left = False

    async def join(self, url: str, token: str, *, publish: bool = True) -> None:
        self.room.on("participant_connected", self._listen_to)
        self.room.on("disconnected", self._on_disconnected)
        self.room.on("participant_permissions_changed", self._on_permissions)
        await self._connect(url, token)
        self.identity = self.room.local_participant.identity
        self._may_publish = bool(self.room.local_participant.permissions.can_publish)
        for participant in self.room.remote_participants.values():
            self._listen_to(participant)
        self._spawn(self._play())
        if publish and self._may_publish:
            await self.publish()

    async def _connect(self, url: str, token: str) -> None:
        """`room.connect`, bounded but never cancelled (a cancelled join can end in a
        SIGTERM to the whole process: callpad's joining.py says why); a join that hangs
        goes on, and the room is left once it is in."""
        options = rtc.RoomOptions(auto_subscribe=True)
        if not await join_within(self.room, url, token, options, STEP_S):
            raise StepHung(f"the {self.name}'s room.connect did not finish in {STEP_S:g} s")

    async def publish(self) -> None:
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        publication = await bounded(
            f"the {self.name}'s publish_track",
            self.room.local_participant.publish_track(self._track, options),
        )
        self._publication_sid = publication.sid

    async def leave(self) -> None:
        if self._left:
            return
        self._left = True
        try:
            await bounded(f"the {self.name}'s room.disconnect", self._disconnect())
        finally:
            await self._stop_tasks()
            await bounded(f"the {self.name}'s AudioSource.aclose", self._source.aclose())

    async def _stop_tasks(self) -> None:
        """Cancel the receiving, playing and republishing tasks, and wait (bounded) until
        they end; a step one of them found hung is raised here."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=STEP_S)
        if pending:
            raise StepHung(
                f"{len(pending)} of the {self.name}'s tasks did not end in {STEP_S:g} s after"
                f" being cancelled; where they wait:\n{task_stacks(pending)}"
            )
        for task in done:
            if not task.cancelled() and isinstance(task.exception(), StepHung):
                raise task.exception()  # type: ignore[misc]

    async def _unpublish(self, sid: str) -> None:
        with contextlib.suppress(Exception):  # the server already took it away
            await self.room.local_participant.unpublish_track(sid)

    async def _disconnect(self) -> None:
        with contextlib.suppress(Exception):  # a room the server closed: gone already
            await self.room.disconnect()

    # -- what it hears -------------------------------------------------------------------

    def level(self, freq: float, window_s: float = 0.2, *, now: float | None = None) -> float:
        """The loudest level of `freq` from any one sender, in what was received in the
        `window_s` seconds before `now`."""
        now = time.monotonic() if now is None else now
        levels = [0.0]
        for frames in list(self._heard.values()):
            recent = [s for at, s in list(frames) if now - window_s <= at <= now]
            if recent:
                levels.append(tone_level(np.concatenate(recent), freq))
        return max(levels)

    def hears(self, freq: float) -> bool:
        return self.level(freq) > HEARD

    def hears_nothing_of(self, freq: float) -> bool:
        return self.level(freq) < SILENT

    def first_heard(self, freq: float) -> float | None:
        """When a received 10 ms frame first carried `freq` (monotonic seconds)."""
        return self._first_tone_at.get(freq)

    def watch_for(self, freq: float) -> None:
        """Note the time of the first received frame that carries `freq`."""
        self._first_tone_at.pop(freq, None)
        self._watched.add(freq)

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _listen_to(self, participant: rtc.RemoteParticipant) -> None:
        if participant.sid in self._listening:  # a reconnect is a new participant sid
            return
        self._listening.add(participant.sid)
        stream = rtc.AudioStream.from_participant(
            participant=participant,
            track_source=rtc.TrackSource.SOURCE_MICROPHONE,
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        frames: deque[tuple[float, np.ndarray]] = deque(maxlen=3000)
        self._heard[participant.sid] = frames
        self._spawn(self._receive(frames, stream))

    async def _receive(
        self, frames: deque[tuple[float, np.ndarray]], stream: rtc.AudioStream
    ) -> None:
        try:
            async for event in stream:
                samples = np.frombuffer(event.frame.data, dtype=np.int16).copy()
                at = time.monotonic()
                frames.append((at, samples))
                for freq in self._watched:
                    if freq not in self._first_tone_at and tone_level(samples, freq) > HEARD:
                        self._first_tone_at[freq] = at
        finally:
            await stream.aclose()

    async def _play(self) -> None:
        """A continuous sine, paced by the source's short queue."""
        per_frame = SAMPLE_RATE * FRAME_MS // 1000
        phase = 0
        while True:
            n = np.arange(phase, phase + per_frame)
            wave = (AMPLITUDE * 32767 * np.sin(2 * np.pi * self.freq * n / SAMPLE_RATE)).astype(
                np.int16
            )
            phase += per_frame
            frame = rtc.AudioFrame(wave.tobytes(), SAMPLE_RATE, 1, per_frame)
            await self._source.capture_frame(frame)

    def _on_disconnected(self, reason: int) -> None:
        self.disconnect_reasons.append(reason)
        self.disconnected.set()

    def _on_permissions(self, participant: rtc.Participant, permission: object) -> None:
        """What a client does when LiveKit gives publishing back (after a hold): publish
        its microphone again, since the server dropped the track and does not restore it."""
        if participant.identity != self.identity:
            return
        can_publish = bool(participant.permissions.can_publish)
        if can_publish and not self._may_publish:
            self._spawn(self._republish())
        self._may_publish = can_publish

    async def _republish(self) -> None:
        if self._publication_sid is not None:
            unpublished = self._unpublish(self._publication_sid)
            await bounded(f"the {self.name}'s unpublish_track", unpublished)
        self._publication_sid = None
        await self.publish()
