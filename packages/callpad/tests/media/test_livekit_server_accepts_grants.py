"""The real livekit-server accepts the join grants Callpad hands out: a `livekit` client
connects with the grant a started session returned and shows up in the room's participants."""

from __future__ import annotations

from pathlib import Path

from callpad.testing import fast_settings, migrate
from livekit import api, rtc

from testsupport.api import Api, running_app
from testsupport.servers import LiveKitServer

CUSTOMER, AGENT = 7, 42


async def test_a_clients_grant_joins_the_real_livekit_room(
    livekit_server: LiveKitServer, tmp_path: Path
) -> None:
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'callpad.db'}",
        livekit_url=livekit_server.url,
        livekit_api_key=livekit_server.api_key,
        livekit_api_secret=livekit_server.api_secret,
    )
    await migrate(settings)
    async with running_app(settings, migrated=True) as app, Api.in_process(app, settings) as http:
        await http.create_vendor("acme", {AGENT: "agent"})
        started = await http.post(
            CUSTOMER,
            "/vendors/acme/sessions",
            json={"target": {"type": "vendor_user", "user_id": AGENT}},
        )
        assert started.status_code == 201, started.text
        grant = started.json()["join"]
    assert grant["url"] == livekit_server.url

    room = rtc.Room()
    await room.connect(grant["url"], grant["token"])
    try:
        async with api.LiveKitAPI(
            livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
        ) as lk:
            listed = await lk.room.list_participants(
                api.ListParticipantsRequest(room=grant["room"])
            )
        assert [p.identity for p in listed.participants] == [grant["participant_id"]]
        assert room.name == grant["room"]
    finally:
        await room.disconnect()
