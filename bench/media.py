"""Time from the winning accept to both parties hearing each other, through Callpad on
LiveKit media, beside two bare LiveKit clients measured in the same run.

    python bench/media.py [--calls 50]

One real livekit-server (built by `make services`) on loopback, and `callpad serve` in
its own process as deployed (`CALLPAD_MEDIA=livekit`, default settings, SQLite in a
temporary directory), called over loopback HTTP. Each party is a `livekit` Python
client publishing a sine of its own frequency; "hears" means a received 10 ms frame
carries the other's tone.

- callpad: a customer starts a call to an agent and joins the room with the grant it got
  (publishing), as a caller does while it rings. The clock starts, the agent accepts
  (`POST .../accept`), joins with the grant in the answer and publishes; the clock
  stops when both parties have received a frame of each other's tone.
- bare: the same without Callpad. The room is made through LiveKit's API and the caller
  joins and publishes; the clock starts, the answering client gets a token minted in
  process and joins and publishes; the clock stops when both hear each other.

Calls alternate between the two. Prints p50, p99, min and max of each, the ratio of the
p50s, and whether it meets the goal: Callpad's p50 at most 1.2 times the bare one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from callpad.config import Settings
from callpad.testing import migrate
from livekit import api

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testsupport.api import Api
from testsupport.processes import CallpadProcess
from testsupport.servers import LiveKitServer, run_livekit
from testsupport.voice import ToneParty

CUSTOMER, AGENT = 7, 42
CALLER_HZ, ANSWER_HZ = 440.0, 880.0
GOAL = 1.2


async def both_hear(caller: ToneParty, answerer: ToneParty, timeout_s: float = 30) -> float:
    """When (monotonic) both had received a frame of the other's tone."""
    deadline = time.monotonic() + timeout_s
    while True:
        caller_heard, answerer_heard = (
            caller.first_heard(ANSWER_HZ),
            answerer.first_heard(CALLER_HZ),
        )
        if caller_heard is not None and answerer_heard is not None:
            return max(caller_heard, answerer_heard)
        if time.monotonic() > deadline:
            raise TimeoutError("the parties did not hear each other")
        await asyncio.sleep(0.005)


async def party(name: str, freq: float, listens_for: float, url: str, token: str) -> ToneParty:
    joined = ToneParty(name, freq)
    joined.watch_for(listens_for)
    await joined.join(url, token)
    return joined


ACCEPTS: list[float] = []


async def callpad_call(http: Api, livekit: LiveKitServer) -> float:
    started = await http.post(
        CUSTOMER,
        "/vendors/acme/sessions",
        json={"target": {"type": "vendor_user", "user_id": AGENT}},
    )
    started.raise_for_status()
    session, grant = started.json()["session"], started.json()["join"]
    caller = await party("customer", CALLER_HZ, ANSWER_HZ, grant["url"], grant["token"])
    invited = next(p for p in session["participants"] if p["user_id"] == AGENT)
    answerer = None
    try:
        begin = time.monotonic()
        accepted = await http.post(
            AGENT, f"/vendors/acme/sessions/{session['id']}/participants/{invited['id']}/accept"
        )
        accepted.raise_for_status()
        ACCEPTS.append(time.monotonic() - begin)
        join = accepted.json()["join"]
        answerer = await party("agent", ANSWER_HZ, CALLER_HZ, join["url"], join["token"])
        return await both_hear(caller, answerer) - begin
    finally:
        await caller.leave()
        if answerer is not None:
            await answerer.leave()
        await http.post(AGENT, f"/vendors/acme/sessions/{session['id']}/end")


def bare_token(livekit: LiveKitServer, identity: str, room: str) -> str:
    return (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_identity(identity)
        .with_grants(
            api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
        )
        .to_jwt()
    )


async def bare_call(lk: api.LiveKitAPI, livekit: LiveKitServer, n: int) -> float:
    room = f"bare-{n}"
    await lk.room.create_room(api.CreateRoomRequest(name=room))
    caller = await party("a", CALLER_HZ, ANSWER_HZ, livekit.url, bare_token(livekit, "a", room))
    answerer = None
    try:
        begin = time.monotonic()
        token = bare_token(livekit, "b", room)
        answerer = await party("b", ANSWER_HZ, CALLER_HZ, livekit.url, token)
        return await both_hear(caller, answerer) - begin
    finally:
        await caller.leave()
        if answerer is not None:
            await answerer.leave()
        await lk.room.delete_room(api.DeleteRoomRequest(room=room))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:8} p50 {statistics.median(ms):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms  "
        f"min {min(ms):7.1f} ms  max {max(ms):7.1f} ms  ({len(ms)} calls)"
    )


async def run(calls: int, workdir: Path, livekit: LiveKitServer) -> None:
    database_url = f"sqlite:///{workdir / 'callpad.db'}"
    env = {
        "CALLPAD_MEDIA": "livekit",
        "CALLPAD_LIVEKIT_URL": livekit.url,
        "CALLPAD_LIVEKIT_API_KEY": livekit.api_key,
        "CALLPAD_LIVEKIT_API_SECRET": livekit.api_secret,
    }
    settings = Settings(database_url=database_url, data_dir=workdir)
    await migrate(settings)
    timings: dict[str, list[float]] = {"callpad": [], "bare": []}
    server = await CallpadProcess.start(database_url, workdir, "callpad", env)
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client,
            api.LiveKitAPI(livekit.http_url, livekit.api_key, livekit.api_secret) as lk,
        ):
            http = Api(client, settings)
            await http.create_vendor("acme", {AGENT: "agent"})
            await callpad_call(http, livekit)  # warm-up, not counted
            await bare_call(lk, livekit, -1)
            for n in range(calls):
                timings["callpad"].append(await callpad_call(http, livekit))
                timings["bare"].append(await bare_call(lk, livekit, n))
    finally:
        await server.stop()
    del ACCEPTS[0]  # the warm-up call's
    print(summary("callpad", timings["callpad"]))
    print(summary("  accept", ACCEPTS) + "  (the accept request, inside callpad's time)")
    print(summary("bare", timings["bare"]))
    ratio = statistics.median(timings["callpad"]) / statistics.median(timings["bare"])
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"callpad p50 / bare p50 = {ratio:.2f} (goal <= {GOAL}): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, run_livekit(Path(tmp) / "livekit") as livekit:
        asyncio.run(run(args.calls, Path(tmp), livekit))


if __name__ == "__main__":
    main()
