"""The built-in recorder on the real livekit-server: a recorded call's file holds both
parties' tones and lasts as long as the recording; only authorized members download it;
a session that ends mid-recording still leaves a finished file."""

from __future__ import annotations

import asyncio
import io
import wave
from datetime import datetime
from typing import Any

import numpy as np

from testsupport.api import eventually
from testsupport.voice import tone_level

from .conftest import AGENT, AGENT_2, AGENT_HZ, CUSTOMER, CUSTOMER_HZ, Callpad


async def recorded_call(callpad: Callpad, seconds: float) -> tuple[dict[str, Any], str]:
    """A call answered and recorded from the start, ended by the host after `seconds`."""
    started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
    session = started["session"]
    path = f"/vendors/acme/sessions/{session['id']}"
    customer = await callpad.join("customer", CUSTOMER_HZ, started["join"])
    agent = await callpad.join("agent", AGENT_HZ, (await callpad.accept(AGENT, session))["join"])
    await eventually(lambda: customer.hears(AGENT_HZ) and agent.hears(CUSTOMER_HZ))
    recording = await callpad.http.post(AGENT, path + "/recordings")
    assert recording.status_code == 201, recording.text
    recording_id = recording.json()["recordings"][-1]["id"]

    async def active() -> bool:
        view = (await callpad.http.get(AGENT, path)).json()
        return bool(view["recordings"][-1]["state"] == "active")

    await eventually(active)
    await asyncio.sleep(seconds)
    ended = await callpad.http.post(AGENT, path + "/end")  # mid-recording
    assert ended.status_code == 200, ended.text

    async def saved() -> dict[str, Any] | None:
        view: dict[str, Any] = (await callpad.http.get(AGENT, path)).json()
        return view if view["recordings"][-1]["format"] else None

    return await eventually(saved), recording_id


async def test_a_recorded_call_holds_both_tones_for_its_whole_length(callpad: Callpad) -> None:
    session, recording_id = await recorded_call(callpad, seconds=3.0)
    recording = session["recordings"][-1]
    assert recording["state"] == "stopped", "the end of the session stopped it"
    audio_path = f"/vendors/acme/sessions/{session['id']}/recordings/{recording_id}/audio"

    download = await callpad.http.get(CUSTOMER, audio_path)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "audio/wav"
    assert len(download.content) == recording["size_bytes"]
    with wave.open(io.BytesIO(download.content)) as wav:
        rate, frames = wav.getframerate(), wav.getnframes()
        samples = np.frombuffer(wav.readframes(frames), dtype=np.int16)
    assert frames / rate == recording["duration_s"]
    lasted = (
        datetime.fromisoformat(recording["stopped_at"])
        - datetime.fromisoformat(recording["started_at"])
    ).total_seconds()
    # To the sample: the file ends when the recording stopped, not when the stop job ran.
    assert abs(recording["duration_s"] - lasted) <= 1 / rate
    # The middle of the call: both tones, and not a frequency nobody played.
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    assert tone_level(middle, CUSTOMER_HZ, rate) > 0.1
    assert tone_level(middle, AGENT_HZ, rate) > 0.1
    assert tone_level(middle, 1234.0, rate) < 0.01

    # Nobody else: another agent of the vendor, a stranger.
    for outsider in (AGENT_2, 999):
        refused = await callpad.http.get(outsider, audio_path)
        assert refused.status_code == 404, refused.text
    missing = await callpad.http.get(
        CUSTOMER, f"/vendors/acme/sessions/{session['id']}/recordings/rec_nope/audio"
    )
    assert missing.json()["code"] == "recording_not_found"
