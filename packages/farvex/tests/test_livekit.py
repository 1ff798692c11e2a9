"""farvex.livekit: what can be checked without a LiveKit server."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from farvex import VoiceJoinGrant

GRANT = VoiceJoinGrant(
    url="ws://127.0.0.1:7880",
    token="eyJ.join.token",
    room="ses_1",
    participant_id="par_1",
    expires_at=datetime(2026, 1, 1, tzinfo=UTC),
)


class RecordingRoom:
    """Stands in for `rtc.Room` (which needs a LiveKit server to connect to)."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, str, Any]] = []

    async def connect(self, url: str, token: str, options: Any) -> None:
        self.connected.append((url, token, options))


async def test_join_room_connects_with_the_grants_url_and_token() -> None:
    from farvex import livekit

    recording = RecordingRoom()
    room = cast("livekit.rtc.Room", recording)  # stands in: joining needs only connect()
    joined = await livekit.join_room(GRANT, room=room)
    assert joined is room
    [(url, token, options)] = recording.connected
    assert (url, token) == ("ws://127.0.0.1:7880", "eyJ.join.token")
    assert isinstance(options, livekit.rtc.RoomOptions)
    assert livekit.connect_arguments(GRANT) == (GRANT.url, GRANT.token)


def test_livekit_rtc_is_re_exported() -> None:
    from farvex import livekit
    from livekit import rtc

    assert livekit.rtc is rtc
    assert livekit.Room is rtc.Room
    assert livekit.AudioSource is rtc.AudioSource
    unknown = "NotALiveKitName"
    with pytest.raises(AttributeError, match="no attribute"):
        _ = getattr(livekit, unknown)


def test_without_the_extra_the_import_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "livekit", None)
    monkeypatch.setitem(sys.modules, "livekit.rtc", None)
    monkeypatch.delitem(sys.modules, "farvex.livekit", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'farvex\[livekit\]'"):
        importlib.import_module("farvex.livekit")
