"""The phone end of a SIP call's media, in the test: an RTP socket that receives what the
call sends (G.711 u-law audio and RFC 4733 telephone-events, i.e. DTMF digits) and sends
a tone of its own back, so a test can say "the phone hears the agent", "the agent hears
the phone" and "the phone received 1, 9, *, #", and press keys on it (`press`).

`sipp` answers the call (testsupport/sipp/answers_rtp.xml) with an SDP that points the
media at this socket; RTP is symmetric, so the tone goes back to where the call's RTP
comes from.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import time
from collections.abc import AsyncIterator
from typing import cast

import numpy as np

from .voice import tone_level

__all__ = ["PCMU_RATE", "RtpPhone", "mulaw_decode", "mulaw_encode"]

PCMU_RATE = 8_000
FRAME = 160  # 20 ms at 8 kHz
PCMU, TELEPHONE_EVENT = 0, 101
_EVENT_DIGITS = "0123456789*#ABCD"
_KEY_FRAMES = 5  # a key is held (and then released) for 5 frames: 100 ms


def mulaw_decode(data: bytes) -> np.ndarray:
    """G.711 u-law bytes to int16 samples."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def mulaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to G.711 u-law bytes."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return encoded


class RtpPhone(asyncio.DatagramProtocol):
    """Receives the call's RTP on `port`; plays `freq` Hz back once the call's RTP came."""

    def __init__(self, freq: float) -> None:
        self.freq = freq
        self.port = 0
        self.digits = ""
        self._heard: list[tuple[float, np.ndarray]] = []
        self._event_stamps: set[int] = set()
        self._peer: tuple[str, int] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._keys: list[str] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, freq: float) -> AsyncIterator[RtpPhone]:
        phone = cls(freq)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: phone, local_addr=("127.0.0.1", 0)
        )
        phone.port = transport.get_extra_info("sockname")[1]
        speaking = asyncio.get_running_loop().create_task(phone._speak())
        try:
            yield phone
        finally:
            speaking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await speaking
            transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return  # not RTP
        self._peer = addr
        payload_type = data[1] & 0x7F
        (timestamp,) = struct.unpack("!I", data[4:8])
        offset = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:  # a header extension: its length is in 32-bit words
            (words,) = struct.unpack("!H", data[offset + 2 : offset + 4])
            offset += 4 + 4 * words
        payload = data[offset:]
        if payload_type == PCMU:
            self._heard.append((time.monotonic(), mulaw_decode(payload)))
            del self._heard[:-500]  # the last 10 s
        elif (
            payload_type == TELEPHONE_EVENT
            and len(payload) >= 4
            and payload[0] < len(_EVENT_DIGITS)
            # One digit is several packets (its end is sent three times), all with the
            # timestamp of the digit's start.
            and timestamp not in self._event_stamps
        ):
            self._event_stamps.add(timestamp)
            self.digits += _EVENT_DIGITS[payload[0]]

    def level(self, freq: float, window_s: float = 0.5) -> float:
        """The amplitude of `freq` in what the phone received in the last `window_s`."""
        since = time.monotonic() - window_s
        recent = [samples for at, samples in self._heard if at >= since]
        return tone_level(np.concatenate(recent), freq, PCMU_RATE) if recent else 0.0

    def press(self, digits: str) -> None:
        """Press keys on the phone: each an RFC 4733 telephone-event of 100 ms (then 100 ms
        of tone), sent in place of the audio frames."""
        self._keys.extend(digits)

    async def _speak(self) -> None:
        """20 ms frames of the tone, at real time, to wherever the call's RTP comes from;
        a pressed key's event packets instead while it is held."""
        ssrc, sequence, timestamp = random.getrandbits(32), 0, 0
        t = np.arange(FRAME) / PCMU_RATE
        started = time.monotonic()
        frames = 0
        key: tuple[int, int, int] | None = None  # (event, its timestamp, frames so far)
        pause = 0
        while True:
            frames += 1
            await asyncio.sleep(max(0.0, started + frames * FRAME / PCMU_RATE - time.monotonic()))
            if self._peer is None or self._transport is None:
                continue
            if key is None and pause == 0 and self._keys:
                key = (_EVENT_DIGITS.index(self._keys.pop(0)), timestamp, 0)
            if key is not None:
                event, stamp, held = key
                held += 1
                end = held >= _KEY_FRAMES
                flags = 0x80 | 10 if end else 10  # E bit on the last packets, volume -10 dBm0
                payload = struct.pack("!BBH", event, flags, held * FRAME)
                marker = 0x80 if held == 1 else 0
                for _ in range(3 if end else 1):  # the end is sent three times (RFC 4733)
                    header = struct.pack(
                        "!BBHII", 0x80, marker | TELEPHONE_EVENT, sequence & 0xFFFF, stamp, ssrc
                    )
                    self._transport.sendto(header + payload, self._peer)
                    sequence += 1
                key, pause = (None, _KEY_FRAMES) if end else ((event, stamp, held), 0)
            else:
                pause = max(0, pause - 1)
                wave = 0.3 * 32767 * np.sin(2 * np.pi * self.freq * (t + timestamp / PCMU_RATE))
                header = struct.pack("!BBHII", 0x80, PCMU, sequence & 0xFFFF, timestamp, ssrc)
                self._transport.sendto(header + mulaw_encode(wave.astype(np.int16)), self._peer)
                sequence += 1
            timestamp = (timestamp + FRAME) & 0xFFFFFFFF
