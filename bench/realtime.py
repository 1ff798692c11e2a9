"""Realtime bench, end to end through the real `callpad serve`: an HTTP change → the outbox
→ the hub → a client in another process. Beside it, in the same run, the baselines.

    python bench/realtime.py [--clients 1000] [--idle 5000] [--processes 4] [--calls 300]
                             [--rate 20] [--rounds 3]

`callpad serve` runs as shipped (SQLite, the embedded hub, the 1 MiB client queue limit,
25 s pings) on 127.0.0.1. Clients are raw WebSocket connections speaking the Centrifugo
client protocol (JSON), each subscribed server-side to its own user channel through a
connection token, spread over `--processes` receiver processes, so that neither their
memory nor their CPU counts as the server's.

    delivery   `--clients` customers are connected. The bench starts `--calls` sessions
               (each customer calls an agent of the vendor, then cancels), `--rate` per
               second (open loop) over HTTP. Each change reaches its customer as `session.upsert` on
               `user:#id`. Printed: the latency from sending `start` to the customer's
               receipt of that session's first upsert (p50 / p99), beside the baseline of
               the same requests' HTTP response time; deliveries/s, and the server's CPU
               per call (from /proc). Every expected event must arrive.
    memory     server RSS growth per idle connection (connected and subscribed, answering
               pings), `--idle` connections, beside the baseline of a plain `websockets`
               server holding as many idle connections (what a WebSocket costs in Python
               at all).

Rounds interleave the servers; min / median / max over rounds are printed, the verdicts
use the median. Goals (issue 12): at most 15 KB per idle realtime connection on the real
server; (issue 3) delivery p99 <= 50 ms. The machine is shared: latency figures swing
with its load (printed), memory figures do not.
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
from callpad.realtime.channels import user_channel
from callpad.realtime.tokens import mint_connection_token
from callpad.testing import migrate
from procfs import cpu_seconds, rss_kib

from testsupport.servers import free_port

VENDOR = "bench"
AGENTS = 20
FIRST_CUSTOMER = 100_000
GOAL_KB_PER_IDLE = 15.0
GOAL_P99_MS = 50.0
SETTLE_S = 2.0

PLAIN_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
async def handler(ws):
    await ws.send('{"connect":{}}')  # the receivers wait for a reply to their connect
    async for _ in ws:
        pass
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None,
                     ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(values: list[float], fmt: str = ".1f") -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


# -- receivers (each in a process of its own) ----------------------------------------------


async def receiver(url: str, secret: str, first: int, count: int) -> None:
    """Connect users first..first+count-1 to `url`, each on its own user channel; print
    `ready`; record when each session's first `session.upsert` arrives and count every
    push; on EOF of stdin print the record as JSON and exit."""
    arrivals: dict[str, float] = {}
    pushes = 0

    async def client(user: int) -> Any:
        token, _ = mint_connection_token(secret, user, [user_channel(user)], 24 * 3600)
        ws = await websockets.connect(
            url, compression=None, max_size=None, open_timeout=300, ping_interval=None
        )
        await ws.send(orjson.dumps({"id": 1, "connect": {"token": token}}).decode())
        await ws.recv()
        return ws

    async def read(ws: Any) -> None:
        nonlocal pushes
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in ws:
                now = time.time()
                for line in frame.split("\n"):
                    if line == "{}":
                        await ws.send("{}")  # the server's ping
                        continue
                    message = orjson.loads(line)
                    if "push" not in message:
                        continue
                    pushes += 1
                    event = message["push"]["pub"]["data"]
                    if event["topic"] == "session.upsert":
                        arrivals.setdefault(event["data"]["id"], now)

    sockets: list[Any] = []
    for start in range(first, first + count, 100):
        batch = range(start, min(start + 100, first + count))
        sockets += await asyncio.gather(*(client(u) for u in batch))
    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    gc.freeze()  # this process's own full collections would delay its reading of invites
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in readers:
        task.cancel()
    print(orjson.dumps({"pushes": pushes, "arrivals": arrivals}).decode(), flush=True)
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()


class Receivers:
    """`processes` receiver processes holding `clients` connections between them."""

    def __init__(self, url: str, secret: str, clients: int, processes: int) -> None:
        self.args = (url, secret, clients, processes)
        self.procs: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> Receivers:
        url, secret, clients, processes = self.args
        share = -(-clients // processes)
        for first in range(FIRST_CUSTOMER, FIRST_CUSTOMER + clients, share):
            count = min(share, FIRST_CUSTOMER + clients - first)
            argv = [sys.executable, __file__, "--receiver", url, secret, str(first), str(count)]
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            self.procs.append(proc)
        for proc in self.procs:
            assert proc.stdout is not None
            line = await proc.stdout.readline()
            if line.strip() != b"ready":
                raise SystemExit("a receiver process failed to connect its clients")
        return self

    async def results(self) -> tuple[int, dict[str, float]]:
        pushes, arrivals = 0, dict[str, float]()
        for proc in self.procs:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            record = orjson.loads(await proc.stdout.readline())
            pushes += record["pushes"]
            arrivals |= record["arrivals"]
        return pushes, arrivals

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()


# -- the servers ---------------------------------------------------------------------------


@dataclass
class Callpad:
    port: int
    pid: int
    settings: Settings

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}/connection/websocket"


@contextlib.asynccontextmanager
async def callpad_serve(workdir: Path) -> AsyncIterator[Callpad]:
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
    log = workdir / "callpad.log"
    async with process(argv, env, log) as pid:
        await wait_ready(port, "/readyz", log)
        admin = Connection(port)
        try:
            key = settings.admin_key
            vendor = {"slug": VENDOR, "name": "Bench"}
            expect(*await admin.request("POST", "/api/v1/admin/vendors", vendor, key), 201)
            for agent in range(20_000, 20_000 + AGENTS):
                path = f"/api/v1/admin/vendors/{VENDOR}/members/{agent}"
                status, body = await admin.request("PUT", path, {"role": "agent"}, key)
                if status not in (200, 201):
                    raise SystemExit(f"set member: {status} {body}")
        finally:
            await admin.close()
        yield Callpad(port, pid, settings)


@contextlib.asynccontextmanager
async def plain_server(workdir: Path) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    argv = [sys.executable, "-c", PLAIN_SERVER, str(port)]
    async with process(argv, dict(os.environ), workdir / "plain.log") as pid:
        for _ in range(500):
            try:
                _, writer = await asyncio.open_connection(HOST, port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.02)
        yield f"ws://{HOST}:{port}/", pid


# -- the measures --------------------------------------------------------------------------


async def idle_kb(url: str, pid: int, secret: str, idle: int, processes: int) -> float:
    """Server RSS growth per idle connection."""
    async with Receivers(url, secret, 50, 1):  # warm: the first connections' one-off costs
        await asyncio.sleep(SETTLE_S)
        before = rss_kib(pid)
        async with Receivers(url, secret, idle, processes):
            await asyncio.sleep(SETTLE_S)
            after = rss_kib(pid)
    return (after - before) / idle


@dataclass
class Delivery:
    latency_ms: list[float]
    response_ms: list[float]
    deliveries_per_s: float
    cpu_ms_per_call: float


async def delivery(
    server: Callpad, clients: int, processes: int, calls: int, rate: float
) -> Delivery:
    secret = server.settings.realtime_hmac_secret
    customers = [FIRST_CUSTOMER + i for i in range(clients)]
    tokens = {u: mint_user_token(server.settings, u) for u in customers}
    sent: dict[str, float] = {}
    response_ms: list[float] = []
    async with Receivers(server.url, secret, clients, processes) as receivers:
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(64):
            idle.put_nowait(Connection(server.port))

        async def call(i: int) -> None:
            conn = await idle.get()
            try:
                customer = customers[i % clients]
                body = {"target": {"type": "vendor_user", "user_id": 20_000 + i % AGENTS}}
                path = f"/api/v1/vendors/{VENDOR}/sessions"
                t0 = time.time()
                started = expect(*await conn.request("POST", path, body, tokens[customer]), 201)
                response_ms.append((time.time() - t0) * 1e3)
                session_id = started["session"]["id"]
                sent[session_id] = t0
                cancel = f"{path}/{session_id}/cancel"
                expect(*await conn.request("POST", cancel, None, tokens[customer]), 200)
            finally:
                idle.put_nowait(conn)

        cpu_before, wall_before = cpu_seconds(server.pid), time.perf_counter()
        tasks = []
        for i in range(calls):  # paced: `rate` calls started per second, open loop
            tasks.append(asyncio.create_task(call(i)))
            ahead = wall_before + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        await asyncio.gather(*tasks)
        await asyncio.sleep(SETTLE_S)  # the last events in flight
        wall = time.perf_counter() - wall_before - SETTLE_S
        cpu_after = cpu_seconds(server.pid)
        pushes, arrivals = await receivers.results()
        while not idle.empty():
            await idle.get_nowait().close()
    missing = [s for s in sent if s not in arrivals]
    if missing:
        raise SystemExit(f"{len(missing)} sessions' events never reached their customer")
    cpu = (cpu_after - cpu_before) / calls * 1e3
    latency = [(arrivals[s] - t0) * 1e3 for s, t0 in sent.items()]
    return Delivery(latency, response_ms, pushes / wall, cpu)


async def main(args: argparse.Namespace) -> None:
    kb_callpad: list[float] = []
    kb_plain: list[float] = []
    runs: list[Delivery] = []
    print(
        f"{args.clients} clients for delivery, {args.idle} idle, in {args.processes} receiver "
        f"processes; {args.rounds} interleaved rounds; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="callpad-realtime-") as tmp:
            workdir = Path(tmp)
            async with callpad_serve(workdir) as server:
                # Memory first, on a fresh server: memory freed by the delivery phase's
                # closed connections would be reused by the idle ones and hide their cost.
                secret = server.settings.realtime_hmac_secret
                kb = await idle_kb(server.url, server.pid, secret, args.idle, args.processes)
                run = await delivery(server, args.clients, args.processes, args.calls, args.rate)
            async with plain_server(workdir) as (url, pid):
                kb_base = await idle_kb(url, pid, secret, args.idle, args.processes)
        runs.append(run)
        kb_callpad.append(kb)
        kb_plain.append(kb_base)
        print(
            f"round {round_}: delivery p50 {percentile(run.latency_ms, 0.5):6.1f} ms, p99 "
            f"{percentile(run.latency_ms, 0.99):6.1f} ms | baseline, the start response: p50 "
            f"{percentile(run.response_ms, 0.5):6.1f} ms, p99 "
            f"{percentile(run.response_ms, 0.99):6.1f} ms | {run.deliveries_per_s:7.0f} "
            f"deliveries/s, server CPU {run.cpu_ms_per_call:.2f} ms per call (start + cancel) "
            "| idle: callpad "
            f"{kb:5.1f} KB/conn, plain websockets {kb_base:5.1f} KB/conn | load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
    p50s = [percentile(r.latency_ms, 0.5) for r in runs]
    p99s = [percentile(r.latency_ms, 0.99) for r in runs]
    print("min / median / max over rounds:")
    print(f"  delivery p50 {spread(p50s)} ms, p99 {spread(p99s)} ms")
    print(f"  start response p99 {spread([percentile(r.response_ms, 0.99) for r in runs])} ms")
    print(f"  deliveries/s {spread([r.deliveries_per_s for r in runs], '.0f')}")
    print(f"  KB per idle connection: callpad {spread(kb_callpad)}, plain {spread(kb_plain)}")
    checks = [
        ("delivery p99 (ms)", statistics.median(p99s), GOAL_P99_MS),
        (
            "KB per idle connection on callpad serve",
            statistics.median(kb_callpad),
            GOAL_KB_PER_IDLE,
        ),
    ]
    for name, value, goal in checks:
        verdict = "goal met" if value <= goal else "goal missed"
        print(f"{name}, median of rounds: {value:.1f} (goal <= {goal:g}: {verdict})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="connected for delivery")
    parser.add_argument("--idle", type=int, default=5000, help="idle connections for memory")
    parser.add_argument("--processes", type=int, default=4, help="receiver processes")
    parser.add_argument("--calls", type=int, default=300, help="sessions started per round")
    parser.add_argument("--rate", type=float, default=20.0, help="sessions started per second")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--receiver", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        url, secret, first, count = args.receiver
        asyncio.run(receiver(url, secret, int(first), int(count)))
    else:
        asyncio.run(main(args))
