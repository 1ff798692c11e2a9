"""Ring latency: a customer's `start` → the agent's `session.invite.upsert`, 1,000 agents online.

    python bench/ring.py [--agents 1000] [--rings 200] [--rounds 3] [--load 50] [--processes 4]

One real `callpad serve` (SQLite, the embedded hub, the shipped settings) on 127.0.0.1.
Every agent of the vendor holds a realtime connection (raw WebSocket, the Centrifugo client
protocol, server-side subscription to its agent channel), spread over `--processes`
processes other than the bench's (their reading shares no event loop with the HTTP client
that times the rings; arrival is read on the wall clock in the agent's process). Rings
are paced one at a time: a customer starts a session to a free agent, the time from
sending `start` to the arrival of the agent's invite event is the ring latency; the
customer then cancels.

Rounds alternate between idle (nothing else running) and loaded: a separate process makes
`--load` full calls per second (start, accept, end) between other customers and a set of
other connected agents. Printed per round: p50 / p99 of the ring latency, and, as the
same-run baseline, p50 / p99 of the `start` response itself (what the HTTP path alone
costs), plus the server's CPU per second. The verdict takes the median over rounds of each
percentile; min / median / max are printed. The machine is shared: figures are noisy.

Goals (issue 12): p50 <= 5 ms and p99 <= 20 ms idle, p99 <= 50 ms under 50 calls/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from api import HOST, Connection, expect, process, wait_ready
from callpad.auth import mint_user_token
from callpad.config import Settings
from callpad.realtime.channels import agent_channel
from callpad.realtime.tokens import mint_connection_token
from callpad.testing import migrate
from procfs import cpu_seconds

from testsupport.servers import free_port

VENDOR = "bench"
GOAL_IDLE_P50_MS = 5.0
GOAL_IDLE_P99_MS = 20.0
GOAL_LOADED_P99_MS = 50.0
BACKGROUND_AGENTS = 100  # the first agents take the background calls; rings go to the rest
INVITE = "session.invite.upsert"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def agent_process(url: str, secret: str, user_ids: list[int]) -> None:
    """In a process of its own: connect `user_ids` to their agent channels, print `ready`,
    then a line `<session id> <wall time>` when an invite arrives; exit on EOF of stdin."""

    async def connect(user_id: int) -> Any:
        token, _ = mint_connection_token(
            secret, user_id, [agent_channel(VENDOR, user_id)], 24 * 3600
        )
        ws = await websockets.connect(
            url, compression=None, max_size=None, open_timeout=300, ping_interval=None
        )
        await ws.send(orjson.dumps({"id": 1, "connect": {"token": token}}).decode())
        message = await ws.recv()
        assert isinstance(message, str)
        reply = orjson.loads(message.split("\n")[0])
        if "connect" not in reply:
            raise SystemExit(f"agent {user_id} could not connect: {reply}")
        return ws

    async def read(ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in ws:
                now = time.time()
                for line in frame.split("\n"):
                    if line == "{}":
                        await ws.send("{}")  # answer the server's ping
                        continue
                    if INVITE not in line:
                        continue
                    pub = orjson.loads(line)["push"]["pub"]["data"]
                    if pub["topic"] == INVITE:
                        sys.stdout.write(f"{pub['data']['session_id']} {now!r}\n")
                        sys.stdout.flush()

    sockets: list[Any] = []
    for first in range(0, len(user_ids), 100):
        sockets += await asyncio.gather(*(connect(u) for u in user_ids[first : first + 100]))
    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    gc.freeze()  # this process's own full collections would delay its reading of invites
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in readers:
        task.cancel()


class Agents:
    """Agents' realtime connections, spread over `processes` processes (so that their
    reading does not share a core's event loop with the bench's HTTP client); when each
    session's invite arrived (wall clock, read in the agent's process)."""

    def __init__(self, url: str, secret: str, user_ids: list[int], processes: int) -> None:
        self.args = (url, secret, user_ids, processes)
        self.procs: list[asyncio.subprocess.Process] = []
        self.invites: dict[str, float] = {}
        self.arrived = asyncio.Event()
        self.readers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Agents:
        url, secret, user_ids, processes = self.args
        share = -(-len(user_ids) // processes)
        for first in range(0, len(user_ids), share):
            ids = ",".join(map(str, user_ids[first : first + share]))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--agents-process", url, secret, ids,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            self.procs.append(proc)
        for proc in self.procs:
            assert proc.stdout is not None
            if (await proc.stdout.readline()).strip() != b"ready":
                raise SystemExit("an agents' process failed to connect")
            self.readers.append(asyncio.create_task(self._read(proc.stdout)))
        return self

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            session_id, at = line.decode().split()
            self.invites.setdefault(session_id, float(at))
            self.arrived.set()

    async def invite_for(self, session_id: str, timeout_s: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout_s
        while session_id not in self.invites:
            self.arrived.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise SystemExit(f"no invite for {session_id}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.invites.pop(session_id)

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self.readers:
            task.cancel()


@dataclass
class Round:
    kind: str
    ring_ms: list[float]
    response_ms: list[float]
    cpu_ms_per_s: float


async def ring_round(
    kind: str,
    port: int,
    pid: int,
    agents: Agents,
    ringing: list[int],
    tokens: dict[int, str],
    rings: int,
) -> Round:
    conn = Connection(port)
    ring_ms: list[float] = []
    response_ms: list[float] = []
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    try:
        for i in range(rings):
            agent = ringing[i % len(ringing)]
            customer = 40_000 + i % 50
            body = {"target": {"type": "vendor_user", "user_id": agent}}
            sent = time.time()
            started = expect(
                *await conn.request(
                    "POST", f"/api/v1/vendors/{VENDOR}/sessions", body, tokens[customer]
                ),
                201,
            )
            answered = time.time()
            session_id = started["session"]["id"]
            arrived = await agents.invite_for(session_id)
            ring_ms.append((arrived - sent) * 1e3)
            response_ms.append((answered - sent) * 1e3)
            cancel = f"/api/v1/vendors/{VENDOR}/sessions/{session_id}/cancel"
            expect(*await conn.request("POST", cancel, None, tokens[customer]), 200)
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    cpu_after, wall_after = cpu_seconds(pid), time.perf_counter()
    cpu = (cpu_after - cpu_before) / (wall_after - wall_before) * 1e3
    return Round(kind, ring_ms, response_ms, cpu)


# -- the background load (a separate process) -------------------------------------------


async def background_load(port: int, workdir: Path, rate: float, agents: list[int]) -> None:
    """Full calls at `rate` per second, each on its own task, until killed."""
    settings = Settings(database_url=f"sqlite:///{workdir / 'callpad.db'}", data_dir=workdir)
    customers = [50_000 + i for i in range(len(agents))]
    tokens = {u: mint_user_token(settings, u) for u in customers + agents}
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(Connection(port))
    slot = asyncio.Queue[int]()
    for index in range(len(agents)):
        slot.put_nowait(index)

    async def call() -> None:
        index = await slot.get()
        conn = await idle.get()
        try:
            customer, agent = customers[index], agents[index]
            body = {"target": {"type": "vendor_user", "user_id": agent}}
            path = f"/api/v1/vendors/{VENDOR}/sessions"
            started = expect(*await conn.request("POST", path, body, tokens[customer]), 201)
            session = started["session"]
            invitee = next(p for p in session["participants"] if p["user_id"] == agent)
            base = f"{path}/{session['id']}"
            accept = f"{base}/participants/{invitee['id']}/accept"
            expect(*await conn.request("POST", accept, None, tokens[agent]), 200)
            expect(*await conn.request("POST", f"{base}/end", None, tokens[agent]), 200)
        except Exception as exc:  # a failed call is reported, the load goes on
            print(f"background call failed: {exc}", file=sys.stderr, flush=True)
            await conn.close()
            conn = Connection(port)
        finally:
            idle.put_nowait(conn)
            slot.put_nowait(index)

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    k = 0
    while True:
        k += 1
        task = asyncio.create_task(call())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        ahead = start + k / rate - time.perf_counter()
        if ahead > 0:
            await asyncio.sleep(ahead)


@contextlib.asynccontextmanager
async def loaded(port: int, workdir: Path, rate: float, agents: list[int]) -> AsyncIterator[None]:
    argv = [sys.executable, __file__, "--background", str(port), str(workdir), str(rate)]
    argv += [",".join(map(str, agents))]
    async with process(argv, dict(os.environ), workdir / "load.log"):
        await asyncio.sleep(1.0)  # let the load reach its rate
        yield
    log = (workdir / "load.log").read_text(errors="replace")
    if "failed" in log:
        raise SystemExit(f"background load failed:\n{log[-2000:]}")


# -- the run ----------------------------------------------------------------------------


def deltas(result: Round) -> list[float]:
    """When the invite arrived relative to the start response (negative: before it)."""
    return [r - a for r, a in zip(result.ring_ms, result.response_ms, strict=True)]


def summary(values: list[float]) -> str:
    return f"{min(values):6.1f} / {statistics.median(values):6.1f} / {max(values):6.1f}"


async def main(agent_count: int, rings: int, rounds: int, rate: float, processes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="callpad-ring-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'callpad.db'}"
        settings = Settings(database_url=database_url, data_dir=workdir)
        await migrate(settings)
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")},
            "CALLPAD_DATABASE_URL": database_url,
            "CALLPAD_DATA_DIR": str(workdir),
        }
        argv = [sys.executable, "-c", "from callpad.cli import main; main()", "serve"]
        argv += ["--host", HOST, "--port", str(port)]
        user_ids = [20_000 + i for i in range(agent_count)]
        customers = [40_000 + i for i in range(50)]
        tokens = {u: mint_user_token(settings, u) for u in customers}
        async with process(argv, env, workdir / "callpad.log") as pid:
            await wait_ready(port, "/readyz", workdir / "callpad.log")
            admin = Connection(port)
            try:
                key = settings.admin_key
                vendor = {"slug": VENDOR, "name": "Bench"}
                expect(*await admin.request("POST", "/api/v1/admin/vendors", vendor, key), 201)
                for user in user_ids:
                    path = f"/api/v1/admin/vendors/{VENDOR}/members/{user}"
                    status, body = await admin.request("PUT", path, {"role": "agent"}, key)
                    if status not in (200, 201):
                        raise SystemExit(f"set member: {status} {body}")
            finally:
                await admin.close()
            url = f"ws://{HOST}:{port}/connection/websocket"
            agents = Agents(url, settings.realtime_hmac_secret, user_ids, processes)
            await agents.__aenter__()
            print(
                f"{agent_count} agents connected to one `callpad serve` (SQLite) from "
                f"{processes} processes; {rounds} rounds of {rings} rings each, idle and under "
                f"{rate:g} full calls/s; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            ringing = user_ids[BACKGROUND_AGENTS:]
            background = user_ids[:BACKGROUND_AGENTS]
            results: list[Round] = []
            await ring_round("warm-up", port, pid, agents, ringing, tokens, 20)
            for round_ in range(1, rounds + 1):
                for kind in ("idle", "loaded"):
                    if kind == "idle":
                        result = await ring_round(kind, port, pid, agents, ringing, tokens, rings)
                    else:
                        async with loaded(port, workdir, rate, background):
                            result = await ring_round(
                                kind, port, pid, agents, ringing, tokens, rings
                            )
                    results.append(result)
                    print(
                        f"round {round_} {kind:6}: ring p50 {percentile(result.ring_ms, 0.5):6.1f}"
                        f" ms, p99 {percentile(result.ring_ms, 0.99):6.1f} ms | baseline, the "
                        f"start response: p50 {percentile(result.response_ms, 0.5):6.1f} ms, "
                        f"p99 {percentile(result.response_ms, 0.99):6.1f} ms | invite minus "
                        f"response p50 {percentile(deltas(result), 0.5):+5.1f} ms | server CPU "
                        f"{result.cpu_ms_per_s:5.0f} ms/s | load average "
                        f"{os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
            await agents.__aexit__(None, None, None)

    def of(kind: str, q: float, field: str = "ring_ms") -> list[float]:
        return [percentile(getattr(r, field), q) for r in results if r.kind == kind]

    print("min / median / max over rounds (ms):")
    for kind in ("idle", "loaded"):
        print(
            f"  {kind:6} ring p50 {summary(of(kind, 0.5))}   p99 {summary(of(kind, 0.99))}   "
            f"start response p50 {summary(of(kind, 0.5, 'response_ms'))}   "
            f"p99 {summary(of(kind, 0.99, 'response_ms'))}"
        )
    idle_p50 = statistics.median(of("idle", 0.5))
    idle_p99 = statistics.median(of("idle", 0.99))
    loaded_p99 = statistics.median(of("loaded", 0.99))
    checks = [
        ("idle p50", idle_p50, GOAL_IDLE_P50_MS),
        ("idle p99", idle_p99, GOAL_IDLE_P99_MS),
        (f"p99 under {rate:g} calls/s", loaded_p99, GOAL_LOADED_P99_MS),
    ]
    for name, value, goal in checks:
        verdict = "goal met" if value <= goal else "goal missed"
        print(
            f"ring latency {name} (median of rounds): {value:.1f} ms (goal <= {goal:g}: {verdict})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rings", type=int, default=200, help="rings per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=float, default=50.0, help="background full calls/s")
    parser.add_argument("--processes", type=int, default=4, help="agents' client processes")
    parser.add_argument("--background", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--agents-process", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agents_process:
        url, secret, ids = args.agents_process
        asyncio.run(agent_process(url, secret, [int(u) for u in ids.split(",")]))
    elif args.background:
        port, workdir, rate, agents = args.background
        asyncio.run(
            background_load(
                int(port), Path(workdir), float(rate), [int(a) for a in agents.split(",")]
            )
        )
    elif args.agents <= BACKGROUND_AGENTS:
        parser.error(f"--agents must be over {BACKGROUND_AGENTS} (that many take the load)")
    else:
        asyncio.run(main(args.agents, args.rings, args.rounds, args.load, args.processes))
