"""The recorder's packages (`livekit` rtc, numpy) are the `callpad[livekit]` extra: a
server on offline media never loads them, and one that would record without them says so
at startup in one line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from callpad.config import Settings
from callpad.media.livekit.backend import missing_recorder_packages


def test_the_offline_server_does_not_load_the_recorders_packages() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, callpad.app, callpad.cli, callpad.media.livekit;"
            "print(sorted(m for m in ('numpy', 'livekit.rtc') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "[]"


def test_a_missing_recorder_package_is_named_with_the_extra_that_brings_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(media="livekit")
    assert missing_recorder_packages(settings) is None  # this environment has the extra
    real_find_spec = importlib.util.find_spec

    def without_numpy(name: str, package: str | None = None) -> object:
        return None if name == "numpy" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_numpy)
    assert missing_recorder_packages(settings) == (
        "the built-in recorder needs numpy: install callpad[livekit] "
        "(or set CALLPAD_LIVEKIT_RECORDER=egress)"
    )
    assert missing_recorder_packages(Settings(media="livekit", livekit_recorder="egress")) is None
