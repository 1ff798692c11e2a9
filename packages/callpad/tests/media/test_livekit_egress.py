"""Recordings through LiveKit Egress (`CALLPAD_LIVEKIT_RECORDER=egress`). Egress needs its
own service (GStreamer, Chrome-less audio mixing, Redis) that cannot run here, so its
Twirp API is played by a stand-in that reads every request with LiveKit's own protobuf
types and answers with them; every other call goes on to the real livekit-server, and
the egress webhooks are LiveKit `WebhookEvent`s signed with the API secret."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from google.protobuf.json_format import MessageToJson
from livekit import api
from livekit.protocol import egress as proto
from livekit.protocol.webhook import WebhookEvent

from testsupport.api import eventually
from testsupport.servers import LiveKitServer

from .conftest import AGENT, CUSTOMER, Callpad, running_callpad


class EgressStandIn:
    """LiveKit's `livekit.Egress` Twirp service, from its protobuf definitions."""

    def __init__(self, livekit: LiveKitServer) -> None:
        self.livekit = livekit
        self.started: list[proto.RoomCompositeEgressRequest] = []
        self.stopped: list[str] = []
        self.live: dict[str, proto.EgressInfo] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        method = request.match_info["method"]
        if method == "StartRoomCompositeEgress":
            start = proto.RoomCompositeEgressRequest.FromString(body)
            self.started.append(start)
            info = proto.EgressInfo(
                egress_id=f"EG_{len(self.started)}",
                room_name=start.room_name,
                status=proto.EgressStatus.EGRESS_STARTING,
                room_composite=start,
            )
            self.live[info.egress_id] = info
            answer: Any = info
        elif method == "ListEgress":
            listed = proto.ListEgressRequest.FromString(body)
            items = [i for i in self.live.values() if i.room_name == listed.room_name]
            answer = proto.ListEgressResponse(items=items)
        elif method == "StopEgress":
            stop = proto.StopEgressRequest.FromString(body)
            self.stopped.append(stop.egress_id)
            answer = self.live.pop(stop.egress_id)
        else:
            return web.json_response({"code": "unimplemented", "msg": method}, status=501)
        return web.Response(body=answer.SerializeToString(), content_type="application/protobuf")

    async def forward(self, request: web.Request) -> web.Response:
        """Everything else goes to the real livekit-server."""
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            aiohttp.ClientSession() as client,
            client.post(
                self.livekit.http_url + request.path, data=await request.read(), headers=headers
            ) as answer,
        ):
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                content_type=answer.content_type,
            )


@pytest.fixture
async def egress(livekit_server: LiveKitServer) -> AsyncIterator[tuple[EgressStandIn, str]]:
    stand_in = EgressStandIn(livekit_server)
    app = web.Application()
    app.router.add_post("/twirp/livekit.Egress/{method}", stand_in.handle)
    app.router.add_post("/{tail:.*}", stand_in.forward)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        try:
            yield stand_in, f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            await runner.cleanup()


def signed(event: WebhookEvent, livekit: LiveKitServer) -> tuple[bytes, str]:
    body = MessageToJson(event).encode()
    token = (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_sha256(base64.b64encode(hashlib.sha256(body).digest()).decode())
        .to_jwt()
    )
    return body, token


async def test_an_egress_recording_starts_follows_its_webhooks_and_stops_with_the_session(
    livekit_server: LiveKitServer,
    egress: tuple[EgressStandIn, str],
    fresh_database: Path,
    tmp_path: Path,
) -> None:
    stand_in, api_url = egress
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with running_callpad(
            livekit_server,
            fresh_database,
            sock,
            tmp_path,
            livekit_api_url=api_url,
            livekit_recorder="egress",
        ) as callpad:
            await run_egress_call(callpad, stand_in, livekit_server, tmp_path)


async def run_egress_call(
    callpad: Callpad, stand_in: EgressStandIn, livekit: LiveKitServer, data_dir: Path
) -> None:
    started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
    session = (await callpad.accept(AGENT, started["session"]))["session"]
    path = f"/vendors/acme/sessions/{session['id']}"
    recording = (await callpad.http.post(AGENT, path + "/recordings")).json()["recordings"][-1]

    await eventually(lambda: stand_in.started)
    (request,) = stand_in.started
    assert request.room_name == session["room"] and request.audio_only
    (output,) = request.file_outputs
    assert output.file_type == proto.EncodedFileType.OGG
    assert output.filepath == f"recordings/{session['id']}/{recording['id']}.ogg"

    async def webhook(name: str, info: proto.EgressInfo) -> None:
        body, token = signed(WebhookEvent(event=name, id=f"EV_{name}", egress_info=info), livekit)
        answer = await callpad.http.client.post(
            "/api/v1/webhooks/livekit", content=body, headers={"Authorization": token}
        )
        assert answer.status_code == 200, answer.text

    info = stand_in.live["EG_1"]
    info.status = proto.EgressStatus.EGRESS_ACTIVE
    await webhook("egress_updated", info)

    async def recording_state() -> dict[str, Any]:
        view: dict[str, Any] = (await callpad.http.get(AGENT, path)).json()
        recordings: list[dict[str, Any]] = view["recordings"]
        return recordings[-1]

    assert (await recording_state())["state"] == "active"

    ended = await callpad.http.post(AGENT, path + "/end")  # mid-recording
    assert ended.status_code == 200, ended.text
    await eventually(lambda: stand_in.stopped == ["EG_1"])

    # Egress wrote the file to the volume it shares with Callpad, and says so.
    written = data_dir / output.filepath
    written.parent.mkdir(parents=True)
    written.write_bytes(b"OggS" + bytes(4092))
    info.status = proto.EgressStatus.EGRESS_COMPLETE
    info.file_results.append(
        proto.FileInfo(filename=output.filepath, duration=3_500_000_000, size=4096)
    )
    await webhook("egress_ended", info)
    saved = await recording_state()
    assert (saved["state"], saved["duration_s"], saved["size_bytes"], saved["format"]) == (
        "stopped",
        3.5,
        4096,
        "audio/ogg",
    )
    audio = await callpad.http.get(CUSTOMER, f"{path}/recordings/{recording['id']}/audio")
    assert audio.status_code == 200, audio.text
    assert audio.headers["content-type"] == "audio/ogg"
    assert audio.content.startswith(b"OggS")


async def test_an_egress_stuck_in_starting_fails_its_recording_and_is_stopped(
    livekit_server: LiveKitServer,
    egress: tuple[EgressStandIn, str],
    fresh_database: Path,
    tmp_path: Path,
) -> None:
    """livekit/egress#384: an egress can stay STARTING for good. Its recording fails once
    its start deadline passes (a durable job), with the reason, and the egress is stopped,
    so nothing records on after Callpad has given up on it."""
    stand_in, api_url = egress
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with running_callpad(
            livekit_server,
            fresh_database,
            sock,
            tmp_path,
            livekit_api_url=api_url,
            livekit_recorder="egress",
            livekit_recording_start_timeout_s=1.5,
        ) as callpad:
            started = await callpad.start_call(CUSTOMER, {"type": "vendor_user", "user_id": AGENT})
            session = (await callpad.accept(AGENT, started["session"]))["session"]
            path = f"/vendors/acme/sessions/{session['id']}"
            posted = await callpad.http.post(AGENT, path + "/recordings")
            recording = posted.json()["recordings"][-1]
            assert recording["state"] == "starting"
            await eventually(lambda: stand_in.started)
            assert stand_in.live["EG_1"].status == proto.EgressStatus.EGRESS_STARTING

            async def failed() -> dict[str, Any] | None:
                view = (await callpad.http.get(AGENT, path)).json()
                latest: dict[str, Any] = view["recordings"][-1]
                return latest if latest["state"] == "failed" else None

            timed_out = await eventually(failed)
            assert timed_out["error"] == "the recording did not start within 1.5 s"
            await eventually(lambda: stand_in.stopped == ["EG_1"])
            # The session goes on; its end stops nothing more.
            ended = await callpad.http.post(AGENT, path + "/end")
            assert ended.status_code == 200, ended.text
            assert stand_in.stopped == ["EG_1"]
