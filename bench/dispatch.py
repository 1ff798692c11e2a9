"""Team dispatch latency: a 200-agent team rung in parallel, each agent on its own
realtime connection, beside a single-agent ring measured in the same run.

One `callpad serve` (SQLite by default, or `--database-url`), 200 agents each with their
own WebSocket connection to the embedded hub (the Centrifugo client protocol, raw
frames: the bench parses only what it times), all `available` in one parallel team.
Each call, alternately:

    team call      `start` with {"type": "team"} -> the 200th agent's
                   `session.invite.upsert`; then one agent's `accept` -> the 199th
                   sibling's `session.invite.remove` (withdrawn); then the call ends
    single agent   `start` with {"type": "vendor_user"} -> that agent's invite; cancel

Prints p50/p99/min/max of each (also to the bytes reaching the agents' sockets, before
the bench parses them), the server's CPU per call (from /proc), how many full
(generation 2) garbage collections the server ran meanwhile (from its /metrics: each stops
its loop for tens of milliseconds with 200 connections open), the goal (p99 <= 50 ms for
all 200 invites delivered) and whether it was met.

Usage: python bench/dispatch.py [--agents 200] [--calls 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callpad.testing import fast_settings, migrate  # noqa: E402
from procfs import cpu_seconds  # noqa: E402

from testsupport.api import Api  # noqa: E402
from testsupport.processes import CallpadProcess  # noqa: E402

GOAL_P99_MS = 50.0
OWNER, SOLO = 1, 99
FIRST_AGENT = 1000
FIRST_CALLER = 1_000_000  # callers never share an id with an agent (who would then be busy)
# Fields the bench reads from raw frames, without decoding them.
TOPIC = re.compile(rb'"topic":"(session\.invite\.upsert|session\.invite\.remove)"')
SESSION_ID = re.compile(rb'"session_id":"(ses_[0-9a-f]+)"')
STATE = re.compile(rb'"state":"([a-z_]+)"')


class TimedConnection(ClientConnection):
    """A client connection that notes when bytes last reached it from the socket, before
    any parsing: with 200 sockets read by one bench process, a frame is parsed well after
    it arrived, and the difference is the bench's, not the server's."""

    arrived_at = 0.0

    def data_received(self, data: bytes) -> None:
        self.arrived_at = time.perf_counter()
        super().data_received(data)


class Agent:
    """One agent's realtime connection, noting when each invite event arrives."""

    def __init__(self, user_id: int, board: Board) -> None:
        self.user_id = user_id
        self.board = board
        self.task: asyncio.Task[None] | None = None
        self.ws: Any = None

    async def connect(self, api: Api, url: str) -> None:
        grant = (await api.get(self.user_id, "/vendors/acme/realtime/grant")).json()
        self.ws = await websockets.connect(
            url, compression=None, max_size=None, create_connection=TimedConnection
        )
        await self.ws.send(f'{{"id":1,"connect":{{"token":"{grant["token"]}"}}}}')
        reply = await self.ws.recv()
        assert '"client"' in reply, reply
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            at = time.perf_counter()
            # Each agent gets one frame per change and the next change waits for all of
            # them: the last bytes this socket received are this frame's.
            arrived = self.ws.arrived_at
            raw = frame.encode() if isinstance(frame, str) else frame
            if raw == b"{}":
                await self.ws.send("{}")  # the hub's ping
                continue
            for line in raw.split(b"\n"):
                topic = TOPIC.search(line)
                session = SESSION_ID.search(line)
                if topic is None or session is None:
                    continue
                if topic[1] == b"session.invite.upsert":
                    self.board.note("invite", session[1].decode(), at, arrived)
                else:
                    data = line[topic.end() :]
                    state = STATE.search(data)
                    if state is not None and state[1] == b"withdrawn":
                        self.board.note("withdrawn", session[1].decode(), at, arrived)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.ws is not None:
            await self.ws.close()


class Board:
    """How many agents saw each kind of event for each session, and when the last did."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.last: dict[tuple[str, str], float] = {}
        # When the last of them reached its socket (before the bench parsed it).
        self.last_arrived: dict[tuple[str, str], float] = {}
        self.waiters: dict[tuple[str, str], tuple[int, asyncio.Future[float]]] = {}

    def note(self, kind: str, session_id: str, at: float, arrived: float) -> None:
        key = (kind, session_id)
        self.counts[key] += 1
        self.last[key] = at
        self.last_arrived[key] = max(arrived, self.last_arrived.get(key, 0.0))
        waiting = self.waiters.get(key)
        if waiting is not None and self.counts[key] >= waiting[0] and not waiting[1].done():
            waiting[1].set_result(at)

    async def wait(self, kind: str, session_id: str, count: int, timeout_s: float = 60) -> float:
        key = (kind, session_id)
        if self.counts[key] >= count:
            return self.last[key]
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[key] = (count, future)
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            got = self.counts[key]
            message = f"{session_id}: {got} of {count} {kind} events in {timeout_s} s"
            raise SystemExit(message) from None
        finally:
            del self.waiters[key]


GC_COLLECTIONS = re.compile(
    rb'^python_gc_collections_total\{generation="(\d)"\} ([0-9.e+]+)$', re.M
)


async def gc_collections(http: httpx.AsyncClient) -> dict[int, int]:
    """The server's garbage collections so far, by generation (prometheus_client's)."""
    metrics = (await http.get("/metrics")).content
    return {int(g): int(float(n)) for g, n in GC_COLLECTIONS.findall(metrics)}


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg()) + f" on {os.cpu_count()} cores"


def summary(name: str, values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{name:<50} p50 {statistics.median(ordered):7.1f} ms   p99 {p99:7.1f} ms   "
        f"min {ordered[0]:6.1f}   max {ordered[-1]:7.1f}   (n={len(ordered)})"
    )


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def run(agents_n: int, calls: int, database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = database_url or f"sqlite:///{workdir / 'callpad.db'}"
        await migrate(fast_settings(url))
        server = await CallpadProcess.start(url, workdir, "bench", {})
        try:
            return await measure(server, url, agents_n, calls)
        finally:
            await server.stop()


async def measure(server: CallpadProcess, url: str, agents_n: int, calls: int) -> int:
    limits = httpx.Limits(max_connections=50, keepalive_expiry=1.0)
    async with httpx.AsyncClient(
        base_url=server.url, trust_env=False, timeout=60, limits=limits
    ) as http:
        api = Api(http, fast_settings(url))
        team = list(range(FIRST_AGENT, FIRST_AGENT + agents_n))
        await api.create_vendor(
            "acme", {OWNER: "owner", SOLO: "agent", **dict.fromkeys(team, "agent")}
        )
        put = await api.put(OWNER, "/vendors/acme/teams/support", json={"members": team})
        assert put.status_code == 200, put.text
        for user in [*team, SOLO]:
            got = await api.put(user, "/vendors/acme/presence/me", json={"status": "available"})
            assert got.status_code == 200, got.text
        board = Board()
        ws_url = server.url.replace("http://", "ws://") + "/connection/websocket"
        agents = {u: Agent(u, board) for u in [*team, SOLO]}
        for agent in agents.values():
            await agent.connect(api, ws_url)
        print(f"{agents_n} agents connected; {calls} team calls and {calls} single-agent rings")
        print(f"machine load (1/5/15 min) before: {load_average()}")
        bench_cpu0 = time.process_time()
        gc0 = await gc_collections(http)
        invites_ms: list[float] = []
        withdrawn_ms: list[float] = []
        invites_arrived_ms: list[float] = []
        withdrawn_arrived_ms: list[float] = []
        solo_ms: list[float] = []
        team_cpu: list[float] = []
        solo_cpu: list[float] = []
        try:
            for n in range(calls):
                caller = FIRST_CALLER + n  # a fresh caller each time
                # A team call: start -> every agent's invite; accept -> every withdrawal.
                cpu0 = cpu_seconds(server.process.pid)
                t0 = time.perf_counter()
                started = await api.post(
                    caller,
                    "/vendors/acme/sessions",
                    json={"target": {"type": "team", "team": "support"}},
                )
                assert started.status_code == 201, started.text
                session = started.json()["session"]
                rung = [p for p in session["participants"] if p["state"] == "invited"]
                assert len(rung) == agents_n, f"call {n}: {len(rung)} of {agents_n} agents rung"
                last = await board.wait("invite", session["id"], agents_n)
                invites_ms.append((last - t0) * 1000)
                invites_arrived_ms.append((board.last_arrived["invite", session["id"]] - t0) * 1000)
                winner = team[n % agents_n]
                pid = next(p["id"] for p in session["participants"] if p["user_id"] == winner)
                t1 = time.perf_counter()
                accepted = await api.post(
                    winner, f"/vendors/acme/sessions/{session['id']}/participants/{pid}/accept"
                )
                assert accepted.status_code == 200, accepted.text
                last = await board.wait("withdrawn", session["id"], agents_n - 1)
                withdrawn_ms.append((last - t1) * 1000)
                arrived = board.last_arrived["withdrawn", session["id"]]
                withdrawn_arrived_ms.append((arrived - t1) * 1000)
                ended = await api.post(winner, f"/vendors/acme/sessions/{session['id']}/end")
                assert ended.status_code == 200, ended.text
                team_cpu.append(cpu_seconds(server.process.pid) - cpu0)

                # The baseline: one agent rung directly.
                cpu0 = cpu_seconds(server.process.pid)
                t0 = time.perf_counter()
                solo = await api.post(
                    caller,
                    "/vendors/acme/sessions",
                    json={"target": {"type": "vendor_user", "user_id": SOLO}},
                )
                assert solo.status_code == 201, solo.text
                sid = solo.json()["session"]["id"]
                last = await board.wait("invite", sid, 1)
                solo_ms.append((last - t0) * 1000)
                cancelled = await api.post(caller, f"/vendors/acme/sessions/{sid}/cancel")
                assert cancelled.status_code == 200, cancelled.text
                solo_cpu.append(cpu_seconds(server.process.pid) - cpu0)
            gc1 = await gc_collections(http)
        finally:
            for agent in agents.values():
                await agent.close()
    print(f"machine load (1/5/15 min) after: {load_average()}")
    print(summary(f"team of {agents_n}: start -> last invite", invites_ms))
    print(summary(f"team of {agents_n}: accept -> last withdrawal", withdrawn_ms))
    print(summary("single agent: start -> invite (baseline)", solo_ms))
    print("the same, to the bytes reaching the agents' sockets (before the bench parsed them):")
    print(summary(f"team of {agents_n}: start -> last invite arrived", invites_arrived_ms))
    print(summary(f"team of {agents_n}: accept -> last withdrawal arrived", withdrawn_arrived_ms))
    print(
        # /proc counts in 10 ms ticks: the mean over the calls is the finer figure.
        "server CPU, mean (median): per team call (start, accept, end) "
        f"{1000 * statistics.mean(team_cpu):.1f} ({1000 * statistics.median(team_cpu):.0f}) ms; "
        "per single-agent ring (start, cancel) "
        f"{1000 * statistics.mean(solo_cpu):.1f} ({1000 * statistics.median(solo_cpu):.0f}) ms; "
        f"this bench's own CPU (200 sockets read in one process) "
        f"{1000 * (time.process_time() - bench_cpu0) / max(1, len(team_cpu)):.0f} ms per call pair"
    )
    full = gc1.get(2, 0) - gc0.get(2, 0)
    print(
        f"server garbage collections during the calls: {full} full (generation 2), "
        f"{gc1.get(1, 0) - gc0.get(1, 0)} of generation 1, "
        f"{gc1.get(0, 0) - gc0.get(0, 0)} of generation 0"
    )
    worst = max(p99(invites_ms), p99(withdrawn_ms))
    met = worst <= GOAL_P99_MS
    print(
        f"goal: p99 <= {GOAL_P99_MS:.0f} ms for all {agents_n} invites and withdrawals delivered: "
        f"{'met' if met else 'NOT met'} ({worst:.1f} ms)"
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.agents, args.calls, args.database_url)))


if __name__ == "__main__":
    main()
