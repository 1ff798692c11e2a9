"""farvex.livekit: LiveKit's Python real-time SDK (`livekit.rtc`) and joining a session's room.

An optional extra: `pip install 'farvex[livekit]'`. Everything of `livekit.rtc` is
available here with its types (`farvex.livekit.Room`, `farvex.livekit.AudioSource`, ...),
and `rtc` is the module itself. `join_room` connects to the media room of a
`VoiceJoinGrant`, as returned by `sessions.start`, `sessions.accept` and `sessions.join`:

    started = await callpad.sessions.start(vendor="acme", target=...)
    room = await join_room(started.join)
    ...
    await room.disconnect()
"""

from __future__ import annotations

from ._models import VoiceJoinGrant

try:
    from livekit import rtc
    from livekit.rtc import *  # noqa: F403 - re-exported, with their types
except ImportError as missing:  # pragma: no cover - exercised by a test with livekit hidden
    raise ImportError(
        "farvex.livekit needs LiveKit's real-time SDK; install the extra: "
        "pip install 'farvex[livekit]'"
    ) from missing

__all__ = ["connect_arguments", "join_room", "rtc", *rtc.__all__]


def connect_arguments(grant: VoiceJoinGrant) -> tuple[str, str]:
    """The `(url, token)` that `rtc.Room.connect` takes for this grant."""
    return grant.url, grant.token


async def join_room(
    grant: VoiceJoinGrant,
    *,
    room: rtc.Room | None = None,
    options: rtc.RoomOptions | None = None,
) -> rtc.Room:
    """Connect `room` (a new `rtc.Room` by default) to the grant's room, as its participant
    (`grant.participant_id` is the LiveKit identity). Returns the connected room."""
    room = room if room is not None else rtc.Room()
    url, token = connect_arguments(grant)
    await room.connect(url, token, options if options is not None else rtc.RoomOptions())
    return room
