"""When the LiveKit server does not answer: `callpad serve` says so in one line and exits,
a session that could not get its room is refused with a problem and not started, and
digits sent to a phone leg and the built-in recorder fail, naming the step, instead of
waiting forever."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from callpad.media.livekit import dtmf, recorder
from callpad.testing import fast_settings

from testsupport.api import Api, running_app
from testsupport.proxy import TcpProxy
from testsupport.servers import free_port

from .conftest import AGENT, CUSTOMER


def test_serve_refuses_to_start_when_livekit_does_not_answer(tmp_path: Path) -> None:
    closed = free_port()
    env = {
        **os.environ,
        "CALLPAD_MEDIA": "livekit",
        "CALLPAD_LIVEKIT_URL": f"ws://127.0.0.1:{closed}",
        "CALLPAD_DATA_DIR": str(tmp_path),
    }
    subprocess.run(
        [sys.executable, "-m", "callpad.cli", "db", "upgrade"], env=env, check=True, timeout=60
    )
    served = subprocess.run(
        [sys.executable, "-m", "callpad.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert served.returncode == 1
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1, served.stderr
    assert lines[0].startswith(f"callpad: LiveKit at http://127.0.0.1:{closed} does not answer")
    assert "CALLPAD_MEDIA=offline" in lines[0]


async def test_a_session_without_a_room_is_not_started(
    tmp_path: Path, fresh_database: Path
) -> None:
    settings = fast_settings(
        f"sqlite:///{fresh_database}",
        media="livekit",
        livekit_url=f"ws://127.0.0.1:{free_port()}",
        data_dir=tmp_path,
    )
    async with running_app(settings, migrated=True) as app, Api.in_process(app, settings) as http:
        await http.create_vendor("acme", {AGENT: "agent"})
        started = await http.post(
            CUSTOMER,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": AGENT}},
        )
        assert started.status_code == 503, started.text
        assert started.json()["code"] == "media_unavailable"
        mine = await http.get(CUSTOMER, "/me/sessions", params={"status": "all"})
        assert mine.json()["sessions"] == []
        invites = await http.get(AGENT, "/vendors/acme/invites")
        assert invites.json()["invites"] == []


@pytest.fixture
async def silent_livekit() -> AsyncIterator[str]:
    """A server that takes connections and never says a word: a `livekit` client joining
    it would wait forever. Yields its URL."""
    async with TcpProxy(free_port()) as silent:
        silent.hold()  # connections are taken, and passed on to nothing
        yield silent.url(path="")
        assert silent.accepted, "no client reached the silent server"


async def test_sending_dtmf_gives_up_on_a_livekit_that_never_answers(
    silent_livekit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Joining the room to send the digits fails after the step's bound, naming it."""
    monkeypatch.setattr(dtmf, "STEP_S", 1.0)
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'unused.db'}", media="livekit", livekit_url=silent_livekit
    )
    with pytest.raises(dtmf.DtmfNotSent, match=r"^sending DTMF: joining the room "):
        await dtmf.send_digits(settings, "a-room", "PA_phone", "1#")


async def test_the_recorder_gives_up_joining_a_livekit_that_never_answers(
    silent_livekit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The built-in recorder fails (its recording is reported failed) instead of waiting
    forever, which also kept a stopping server from ever stopping."""
    monkeypatch.setattr(recorder, "STEP_S", 1.0)
    joining = recorder.Recorder(silent_livekit, "a-token", tmp_path / "r.wav", time.time())
    with pytest.raises(TimeoutError, match="joining the room did not finish in 1 s"):
        await joining.run()
    assert not joining.joined.is_set()
