"""When the LiveKit server does not answer: `callpad serve` says so in one line and exits,
and a session that could not get its room is refused with a problem and not started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from callpad.testing import fast_settings

from testsupport.api import Api, running_app
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
