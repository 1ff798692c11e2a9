"""Realtime bench: the embedded hub beside the real Centrifugo and a plain `websockets`
broadcast() server, all measured in the same run.

The servers run as subprocesses on 127.0.0.1 (no compression), one channel every client
is subscribed to. Clients are raw WebSocket connections in this process. Centrifugo (built
by `make services`) runs docs/centrifugo/config.json on its in-memory engine (one node,
like the hub: history and recovery on, no Redis), and is fed through its HTTP API from
this process, as Callpad's relay feeds it: `batch`es of 10 for a burst, one `publish` per
paced message, one `broadcast` per 5 ms tick to the channels then due.

    throughput   deliveries/s and server CPU µs per delivery, 1,000 clients
    latency      p50/p99 from publish to receipt, 1,000 clients, 10 messages/s each: once
                 as one burst to everyone on one channel (10 bursts/s), once with each
                 client on its own channel, as Callpad's user channels are, spread in time
    memory       server RSS growth per idle connection, 5,000 connections

Usage: python bench/realtime.py [--clients 1000] [--idle 5000] [--messages 200]
Goals (issue 3), for the hub: >= 50% of the plain throughput, p99 <= 50 ms, <= 30 KB per
idle connection. Centrifugo is the production peer the hub stands in for; its column is
for comparison (without the binary it reads n/a).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from testsupport.servers import centrifugo_config, find_binary

SECRET = "bench-secret-" + "x" * 32
API_KEY = "bench-api-key"
CHANNEL = "user:#1"
CENTRIFUGO_TICK_S = 0.005
CENTRIFUGO_BATCH = 10

HUB_SERVER = f"""
import asyncio, sys, time, uvicorn
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.responses import PlainTextResponse
from callpad.realtime.hub import Hub, HubConfig
from callpad.realtime.server import HubWebSocketProtocol
hub = Hub(HubConfig(secret={SECRET!r}, ping_interval_s=36000, pong_timeout_s=60,
                    queue_max_bytes=64 << 20))
async def publish(request):
    n = int(request.query_params["n"]); rate = float(request.query_params.get("rate", 0))
    for i in range(n):
        hub.publish({CHANNEL!r}, '{{"t":%r,"i":%d}}' % (__import__("time").time(), i))
        await asyncio.sleep(1 / rate if rate else 0)
    return PlainTextResponse("ok")
async def publish_users(request):
    # n rounds of one publication to each client's own channel, paced evenly in time.
    q = request.query_params
    clients, n, rate = int(q["clients"]), int(q["n"]), float(q["rate"])
    interval, start, k = 1 / (rate * clients), time.perf_counter(), 0
    for i in range(n):
        for c in range(clients):
            hub.publish("user:#%d" % c, '{{"t":%r,"i":%d}}' % (time.time(), i))
            k += 1
            ahead = start + k * interval - time.perf_counter()
            if ahead > 0.001:
                await asyncio.sleep(ahead)
    return PlainTextResponse("ok")
app = Starlette(routes=[WebSocketRoute("/connection/websocket", hub.serve),
                        Route("/publish", publish), Route("/publish_users", publish_users)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            ws=HubWebSocketProtocol, ws_per_message_deflate=False, ws_ping_interval=None)
"""

PLAIN_SERVER = """
import asyncio, sys, time
from websockets.asyncio.server import serve, broadcast
clients = set()
by_index = {}
async def handler(ws):
    if ws.request.path == "/publish":
        n, rate = (float(x) for x in (await ws.recv()).split())
        for i in range(int(n)):
            broadcast(clients, '{"t":%r,"i":%d}' % (time.time(), i))
            await asyncio.sleep(1 / rate if rate else 0)
        await ws.send("ok")
        return
    if ws.request.path == "/publish_users":
        # n rounds of one message to each client alone, paced evenly in time.
        count, n, rate = (float(x) for x in (await ws.recv()).split())
        interval, start, k = 1 / (rate * count), time.perf_counter(), 0
        for i in range(int(n)):
            for c in range(int(count)):
                broadcast([by_index[c]], '{"t":%r,"i":%d}' % (time.time(), i))
                k += 1
                ahead = start + k * interval - time.perf_counter()
                if ahead > 0.001:
                    await asyncio.sleep(ahead)
        await ws.send("ok")
        return
    index = ws.request.path.rpartition("/")[2]
    if index.isdigit():
        by_index[int(index)] = ws
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None, ping_interval=None):
        await asyncio.Future()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Server:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Server:
        if self.kind == "centrifugo":
            self._workdir = tempfile.TemporaryDirectory()
            config = centrifugo_config(hmac_secret=SECRET, api_key=API_KEY, redis=None)
            config["http_server"]["port"] = self.port
            # The bench's raw clients do not answer pings, and a loaded machine connects
            # 1,000 of them slower than the default 25 s ping interval: every server's
            # keepalive is pushed out of the bench's way.
            config["client"] |= {"ping_interval": "36000s", "pong_timeout": "60s"}
            path = Path(self._workdir.name) / "config.json"
            path.write_text(json.dumps(config))
            binary = find_binary("centrifugo")
            assert binary is not None
            self.process = await asyncio.create_subprocess_exec(
                str(binary), "-c", str(path), "--log.level", "error"
            )
        else:
            code = HUB_SERVER if self.kind == "hub" else PLAIN_SERVER
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, str(self.port)
            )
        for _ in range(500):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return self
            except OSError:
                await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.kind} server did not start")

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        if self.kind == "centrifugo":
            self._workdir.cleanup()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def connect(self, index: int | None = None) -> Any:
        """A client; with `index`, one on its own channel (`user:#index`)."""
        path = "/connection/websocket"
        if self.kind == "plain" and index is not None:
            path += f"/{index}"
        ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}{path}",
            compression=None,
            max_size=None,
            open_timeout=60,
            ping_interval=None,
        )
        if self.kind in ("hub", "centrifugo"):
            import jwt

            channel = CHANNEL if index is None else f"user:#{index}"
            user = "1" if index is None else str(index)
            token = jwt.encode({"sub": user, "channels": [channel]}, SECRET, algorithm="HS256")
            await ws.send(json.dumps({"id": 1, "connect": {"token": token}}))
            await ws.recv()
        return ws

    async def centrifugo_api(self, http: httpx.AsyncClient, method: str, body: Any) -> None:
        """One API call, re-sent if the connection drops before the answer (a loaded machine
        can pass Centrifugo's 10 s HTTP write timeout); bodies carry idempotency keys, so a
        re-sent publication is not delivered twice."""
        for attempt in range(3):
            try:
                r = await http.post(
                    f"http://127.0.0.1:{self.port}/api/{method}",
                    json=body,
                    headers={"X-API-Key": API_KEY},
                )
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
        r.raise_for_status()
        assert "error" not in r.json(), r.text

    async def publish_users(self, clients: int, n: int, rate: float) -> None:
        """`n` rounds of one message to each client's own channel, `rate` per second each."""
        if self.kind == "centrifugo":
            interval, start, sent, total = 1 / (rate * clients), time.perf_counter(), 0, clients * n
            async with httpx.AsyncClient(timeout=600, trust_env=False) as http:
                while sent < total:
                    due = min(total, int((time.perf_counter() - start) / interval) + 1)
                    if due > sent:
                        channels = [f"user:#{k % clients}" for k in range(sent, due)]
                        data = {"t": time.time(), "i": sent}
                        body = {"channels": channels, "data": data, "idempotency_key": f"u{sent}"}
                        await self.centrifugo_api(http, "broadcast", body)
                        sent = due
                    await asyncio.sleep(CENTRIFUGO_TICK_S)
            return
        if self.kind == "hub":
            query = f"clients={clients}&n={n}&rate={rate}"
            async with httpx.AsyncClient(timeout=600, trust_env=False) as http:
                r = await http.get(f"http://127.0.0.1:{self.port}/publish_users?{query}")
                r.raise_for_status()
            return
        async with websockets.connect(f"ws://127.0.0.1:{self.port}/publish_users") as ws:
            await ws.send(f"{clients} {n} {rate}")
            await ws.recv()

    async def publish(self, n: int, rate: float = 0) -> None:
        if self.kind == "centrifugo":
            async with httpx.AsyncClient(timeout=600, trust_env=False) as http:
                if not rate:
                    # Batches small enough to be answered within Centrifugo's 10 s HTTP
                    # write timeout on a loaded machine (each fans out to every client).
                    for first in range(0, n, CENTRIFUGO_BATCH):
                        commands = [
                            {
                                "publish": {
                                    "channel": CHANNEL,
                                    "data": {"t": time.time(), "i": i},
                                    "idempotency_key": f"b{i}",
                                }
                            }
                            for i in range(first, min(n, first + CENTRIFUGO_BATCH))
                        ]
                        await self.centrifugo_api(http, "batch", {"commands": commands})
                    return
                start = time.perf_counter()
                for i in range(n):
                    data = {"t": time.time(), "i": i}
                    body = {"channel": CHANNEL, "data": data, "idempotency_key": f"p{i}"}
                    await self.centrifugo_api(http, "publish", body)
                    ahead = start + (i + 1) / rate - time.perf_counter()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
            return
        if self.kind == "hub":
            async with httpx.AsyncClient(timeout=600, trust_env=False) as http:
                r = await http.get(f"http://127.0.0.1:{self.port}/publish?n={n}&rate={rate}")
                r.raise_for_status()
            return
        async with websockets.connect(f"ws://127.0.0.1:{self.port}/publish") as ws:
            await ws.send(f"{n} {rate}")
            await ws.recv()


def messages(frame: str) -> list[dict[str, Any]]:
    out = []
    for line in frame.split("\n"):
        data = json.loads(line)
        if "push" in data:
            out.append(json.loads(json.dumps(data["push"]["pub"]["data"])))
        elif "t" in data:
            out.append(data)
    return out


async def receive(ws: Any, count: int, latencies: list[float] | None) -> None:
    got = 0
    while got < count:
        frame = await ws.recv()
        now = time.time()
        for m in messages(frame):
            got += 1
            if latencies is not None:
                latencies.append(now - m["t"])


async def connect_many(server: Server, n: int) -> list[Any]:
    conns: list[Any] = []
    for start in range(0, n, 200):
        conns += await asyncio.gather(*(server.connect() for _ in range(min(200, n - start))))
    return conns


async def throughput(kind: str, clients: int, count: int) -> tuple[float, float]:
    async with Server(kind) as server:
        conns = await connect_many(server, clients)
        cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
        receivers = asyncio.gather(*(receive(ws, count, None) for ws in conns))
        await server.publish(count)
        await receivers
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds(server.pid) - cpu0
        for ws in conns:
            await ws.close()
        deliveries = clients * count
        return deliveries / elapsed, cpu / deliveries * 1e6


async def latency(kind: str, clients: int, seconds: float) -> tuple[float, float]:
    async with Server(kind) as server:
        conns = await connect_many(server, clients)
        count = int(10 * seconds)
        samples: list[float] = []
        receivers = asyncio.gather(*(receive(ws, count, samples) for ws in conns))
        await server.publish(count, rate=10)
        await receivers
        for ws in conns:
            await ws.close()
        q = statistics.quantiles(samples, n=100)
        return q[49] * 1000, q[98] * 1000


async def latency_own_channels(kind: str, clients: int, seconds: float) -> tuple[float, float]:
    """Each client on its own channel (as Callpad's user channels are), 10 messages/s each,
    spread evenly in time instead of one burst to everyone."""
    async with Server(kind) as server:
        conns: list[Any] = []
        for start in range(0, clients, 200):
            batch = range(start, min(start + 200, clients))
            conns += await asyncio.gather(*(server.connect(i) for i in batch))
        count = int(10 * seconds)
        samples: list[float] = []
        receivers = asyncio.gather(*(receive(ws, count, samples) for ws in conns))
        await server.publish_users(clients, count, rate=10)
        await receivers
        for ws in conns:
            await ws.close()
        q = statistics.quantiles(samples, n=100)
        return q[49] * 1000, q[98] * 1000


async def memory(kind: str, idle: int) -> float:
    async with Server(kind) as server:
        warm = await connect_many(server, 50)
        await asyncio.sleep(0.5)
        before = rss_bytes(server.pid)
        conns = await connect_many(server, idle)
        await asyncio.sleep(1.0)
        after = rss_bytes(server.pid)
        for ws in warm + conns:
            await ws.close()
        return (after - before) / idle / 1024


KINDS = ("hub", "centrifugo", "plain")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per measure")
    args = parser.parse_args()
    kinds = list(KINDS)
    if find_binary("centrifugo") is None:
        print("no Centrifugo binary (run `make services`): its column reads n/a", file=sys.stderr)
        kinds.remove("centrifugo")

    async def each(measure: Any, *measure_args: Any) -> dict[str, list[Any]]:
        """Rounds of every server in turn (interleaved, so load on the machine hits all)."""
        results: dict[str, list[Any]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                result = await measure(kind, *measure_args)
                results[kind].append(result if isinstance(result, tuple) else (result,))
        return results

    def cells(results: dict[str, list[Any]], fmt: str, index: int = 0) -> list[str]:
        """Each server's median, with min-max over the rounds."""
        out = []
        for kind in KINDS:
            if kind not in results:
                out.append("n/a")
                continue
            values = sorted(r[index] for r in results[kind])
            median = statistics.median(values)
            out.append(
                f"{format(median, fmt)} ({format(values[0], fmt)}-{format(values[-1], fmt)})"
            )
        return out

    def median(results: dict[str, list[Any]], kind: str, index: int = 0) -> float:
        return float(statistics.median(r[index] for r in results[kind]))

    rows = []
    tp = await each(throughput, args.clients, args.messages)
    ratio = median(tp, "hub") / median(tp, "plain")
    met = "met" if ratio >= 0.5 else "NOT met"
    rows.append(
        (
            f"deliveries/s, {args.clients} clients",
            *cells(tp, ",.0f"),
            f"hub {ratio:.2f}x plain: goal >= 0.5x {met}",
        )
    )
    rows.append(("server CPU µs/delivery", *cells(tp, ".1f", 1), ""))

    def p99_note(results: dict[str, list[Any]]) -> str:
        p99 = median(results, "hub", 1)
        return f"hub goal <= 50 ms {'met' if p99 <= 50 else 'NOT met'}"

    burst = await each(latency, args.clients, args.seconds)
    rows.append(("latency p50 ms, one burst to all", *cells(burst, ".1f"), ""))
    rows.append(("latency p99 ms, one burst to all", *cells(burst, ".1f", 1), p99_note(burst)))
    own = await each(latency_own_channels, args.clients, args.seconds)
    rows.append(("latency p50 ms, own channels", *cells(own, ".1f"), ""))
    rows.append(("latency p99 ms, own channels", *cells(own, ".1f", 1), p99_note(own)))
    kb = await each(memory, args.idle)
    kb_met = "met" if median(kb, "hub") <= 30 else "NOT met"
    rows.append(
        (f"KB per idle conn, {args.idle}", *cells(kb, ".1f"), f"hub goal <= 30 KB {kb_met}")
    )
    print(f"median (min-max) of {args.rounds} interleaved rounds")
    print(f"{'measure':32} {'hub':>24} {'centrifugo':>24} {'websockets':>24}  note")
    for name, hub, centrifugo, plain, note in rows:
        print(f"{name:32} {hub:>24} {centrifugo:>24} {plain:>24}  {note}")


if __name__ == "__main__":
    asyncio.run(main())
