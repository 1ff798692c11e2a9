"""LiveKit's webhooks, from the real livekit-server: signed deliveries drive `connected` and
the session's media facts; unsigned, forged, tampered and stale ones change nothing; a
shuffled, duplicated replay of a real call's webhooks ends where in-order delivery does."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from callpad.media.livekit.webhooks import reports_of
from callpad.media.reports import RoomLeftReport, SipCheckReport
from callpad.testing import fast_settings
from livekit import api
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent

from testsupport.api import Api, eventually, running_app
from testsupport.servers import LiveKitServer

from .conftest import AGENT, AGENT_HZ, CUSTOMER, CUSTOMER_HZ, Callpad, running_callpad

Delivery = tuple[bytes, str]  # (body, Authorization)


async def session_view(callpad: Callpad, session_id: str) -> dict[str, Any]:
    got = await callpad.http.get(AGENT, f"/vendors/acme/sessions/{session_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def by_user(session: dict[str, Any], user_id: int) -> dict[str, Any]:
    return next(p for p in session["participants"] if p["user_id"] == user_id)


async def test_joins_and_leaves_drive_connected_and_media_facts(
    callpad_with_webhooks: Callpad,
) -> None:
    callpad = callpad_with_webhooks
    started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
    session_id = started["session"]["id"]
    customer = await callpad.join("customer", CUSTOMER_HZ, started["join"])
    agent = await callpad.join(
        "agent", AGENT_HZ, (await callpad.accept(AGENT, started["session"]))["join"]
    )
    await eventually(lambda: customer.hears(AGENT_HZ) and agent.hears(CUSTOMER_HZ))

    async def both_connected() -> dict[str, Any] | None:
        view = await session_view(callpad, session_id)
        parties = (by_user(view, CUSTOMER), by_user(view, AGENT))
        return view if all(p["connected"] for p in parties) and view["first_audio_at"] else None

    view = await eventually(both_connected)
    assert by_user(view, CUSTOMER)["connected_at"] <= by_user(view, AGENT)["connected_at"]

    await agent.leave()  # the agent's app drops out of the room; the session goes on

    async def agent_gone() -> bool:
        view = await session_view(callpad, session_id)
        return not by_user(view, AGENT)["connected"] and by_user(view, CUSTOMER)["connected"]

    await eventually(agent_gone)
    assert (await session_view(callpad, session_id))["state"] == "active"


def sign(body: bytes, key: str, secret: str, ttl: timedelta = timedelta(minutes=5)) -> str:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return (
        api.AccessToken(key, secret)
        .with_identity("livekit")
        .with_sha256(digest)
        .with_ttl(ttl)
        .to_jwt()
    )


async def test_unsigned_forged_tampered_and_stale_webhooks_change_nothing(
    callpad_with_webhooks: Callpad,
) -> None:
    callpad = callpad_with_webhooks
    lk = callpad.livekit
    started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
    session = started["session"]
    await callpad.join("customer", CUSTOMER_HZ, started["join"])

    async def customer_connected() -> dict[str, Any] | None:
        view = await session_view(callpad, session["id"])
        settled = by_user(view, CUSTOMER)["connected"] and view["first_audio_at"]
        return view if settled else None

    before = await eventually(customer_connected)
    customer = by_user(before, CUSTOMER)
    # A participant_left for the customer's connection, as LiveKit would send it.
    forged = json.dumps(
        {
            "event": "participant_left",
            "id": "EV_forged",
            "createdAt": "1",
            "room": {"name": session["room"]},
            "participant": {"identity": customer["id"], "sid": "PA_any"},
        }
    ).encode()
    wrong_secret = "not-the-livekit-secret-but-32-characters-long"
    attempts = {
        "unsigned": {},
        "forged": {"Authorization": sign(forged, lk.api_key, wrong_secret)},
        "tampered": {
            "Authorization": sign(forged.replace(b"EV_", b"EV2"), lk.api_key, lk.api_secret)
        },
        "stale": {"Authorization": sign(forged, lk.api_key, lk.api_secret, timedelta(seconds=-60))},
        "not a token": {"Authorization": "Bearer nonsense"},
    }
    for name, headers in attempts.items():
        answer = await callpad.http.client.post(
            "/api/v1/webhooks/livekit",
            content=forged,
            headers={"Content-Type": "application/webhook+json", **headers},
        )
        assert answer.status_code == 401, (name, answer.text)
        assert answer.json()["code"] == "webhook_rejected", name
    after = await session_view(callpad, session["id"])
    assert after == before


@pytest.fixture
async def webhook_sink(webhook_socket: socket.socket) -> AsyncIterator[list[Delivery]]:
    """Keeps every webhook LiveKit posts to the test's webhook port, in arrival order."""
    deliveries: list[Delivery] = []

    async def keep(request: web.Request) -> web.Response:
        deliveries.append((await request.read(), request.headers.get("Authorization", "")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/api/v1/webhooks/livekit", keep)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.SockSite(runner, webhook_socket)
    await site.start()
    try:
        yield deliveries
    finally:
        await runner.cleanup()


def event_names(deliveries: list[Delivery]) -> list[str]:
    return [json.loads(body)["event"] for body, _ in deliveries]


async def test_a_shuffled_duplicated_replay_ends_where_in_order_delivery_does(
    livekit_with_webhooks: LiveKitServer,
    webhook_sink: list[Delivery],
    fresh_database: Path,
    tmp_path: Path,
) -> None:
    # A real call whose webhooks go to the sink only; the session is left as the API left it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with running_callpad(
            livekit_with_webhooks, fresh_database, sock, tmp_path / "live"
        ) as callpad:
            started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
            session_id = started["session"]["id"]
            customer = await callpad.join("customer", CUSTOMER_HZ, started["join"])
            accepted = await callpad.accept(AGENT, started["session"])
            agent = await callpad.join("agent", AGENT_HZ, accepted["join"])
            await eventually(lambda: customer.hears(AGENT_HZ) and agent.hears(CUSTOMER_HZ))
            await agent.leave()  # drops out and back in: two connections of one party
            agent = await callpad.join(
                "agent again",
                AGENT_HZ,
                (
                    await callpad.http.post(AGENT, f"/vendors/acme/sessions/{session_id}/join")
                ).json(),
            )
            await eventually(lambda: customer.hears(AGENT_HZ))
            ended = await callpad.http.post(AGENT, f"/vendors/acme/sessions/{session_id}/end")
            assert ended.status_code == 200, ended.text
            await eventually(lambda: "room_finished" in event_names(webhook_sink))
    names = event_names(webhook_sink)
    assert names.count("participant_joined") == 3 and names.count("participant_left") == 3

    async def deliver(database: Path, deliveries: list[Delivery]) -> dict[str, Any]:
        settings = fast_settings(
            f"sqlite:///{database}",
            media="livekit",
            livekit_url=livekit_with_webhooks.url,
            livekit_api_key=livekit_with_webhooks.api_key,
            livekit_api_secret=livekit_with_webhooks.api_secret,
            data_dir=database.parent,
        )
        async with (
            running_app(settings, migrated=True) as app,
            Api.in_process(app, settings) as http,
        ):
            for body, authorization in deliveries:
                answer = await http.client.post(
                    "/api/v1/webhooks/livekit",
                    content=body,
                    headers={
                        "Authorization": authorization,
                        "Content-Type": "application/webhook+json",
                    },
                )
                assert answer.status_code == 200, answer.text
            got = await http.get(AGENT, f"/vendors/acme/sessions/{session_id}")
            view: dict[str, Any] = got.json()
            return view

    copies = []
    for name in ("in-order", "shuffled"):
        copy = tmp_path / name / "callpad.db"
        copy.parent.mkdir()
        shutil.copyfile(fresh_database, copy)
        copies.append(copy)
    in_order = await deliver(copies[0], webhook_sink)
    shuffled = [*webhook_sink, *random.Random(13).sample(webhook_sink, len(webhook_sink))]
    random.Random(7).shuffle(shuffled)
    replayed = await deliver(copies[1], shuffled)

    for party in (by_user(in_order, CUSTOMER), by_user(in_order, AGENT)):
        assert party["connected"] is False and party["connected_at"] is not None
    assert in_order["first_audio_at"] is not None
    del in_order["version"], replayed["version"]
    assert replayed == in_order


async def test_room_finished_ends_a_session_when_its_vendor_says_so(
    livekit_with_webhooks: LiveKitServer,
    webhook_sink: list[Delivery],
    fresh_database: Path,
    tmp_path: Path,
) -> None:
    """The real `room_finished` LiveKit sends when an answered call's room goes, delivered
    to Callpad: the session ends only if its vendor chose so, or left it to a deployment
    default that does (here the deployment's default is not to)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with running_callpad(
            livekit_with_webhooks,
            fresh_database,
            sock,
            tmp_path,
            livekit_end_sessions_with_room=False,
        ) as callpad:
            http = callpad.http

            async def room_finishes_under_a_call() -> dict[str, Any]:
                started = await callpad.start_call(
                    CUSTOMER, {"type": "vendor_user", "user_id": AGENT}
                )
                session = (await callpad.accept(AGENT, started["session"]))["session"]
                await callpad.lk.room.delete_room(api.DeleteRoomRequest(room=session["room"]))

                def room_finished() -> Delivery | None:
                    return next(
                        (
                            d
                            for d in webhook_sink
                            if json.loads(d[0])["event"] == "room_finished"
                            and json.loads(d[0])["room"]["name"] == session["room"]
                        ),
                        None,
                    )

                body, authorization = await eventually(room_finished)
                answer = await http.client.post(
                    "/api/v1/webhooks/livekit",
                    content=body,
                    headers={"Authorization": authorization},
                )
                assert answer.json()["applied"] is True, answer.text
                return await session_view(callpad, session["id"])

            async def choose(end: bool | None) -> None:
                body = {"end_sessions_with_room": end}
                chosen = await http.request("PATCH", None, "/admin/vendors/acme", json=body)
                assert chosen.json()["end_sessions_with_room"] is end, chosen.text

            left_to_default = await room_finishes_under_a_call()
            assert left_to_default["state"] == "active"
            await choose(True)
            ended = await room_finishes_under_a_call()
            assert (ended["state"], ended["end_reason"]) == ("ended", "completed")
            await choose(False)
            assert (await room_finishes_under_a_call())["state"] == "active"


def test_a_phone_leg_that_hung_up_is_looked_at_at_once() -> None:
    """livekit-server 1.13.5 sends no webhook when a SIP participant's `sip.callStatus`
    moves (checked with the real server: `participant_joined` carries `dialing`,
    `participant_left` `hangup`); the left one brings the leg's durable check forward."""

    def left(status: str) -> list[object]:
        who = ParticipantInfo(identity="par_leg", sid="PA_1", attributes={"sip.callStatus": status})
        event = WebhookEvent(
            event="participant_left", room=Room(name="callpad-ses_1"), participant=who
        )
        found = reports_of(event)
        assert found.session_id == "ses_1"
        return list(found.reports)

    gone = RoomLeftReport(participant_id="par_leg", sid="PA_1")
    assert left("hangup") == [gone, SipCheckReport(participant_id="par_leg")]
    assert left("active") == [gone]  # a connection dropped; the call may go on
