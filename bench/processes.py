"""Full calls/s on PostgreSQL with one and with two `callpad serve` processes, CPU per call,
and each process's idle CPU, measured in interleaved rounds.

    python bench/processes.py [--rounds 3] [--seconds 10] [--clients 16] [--idle-seconds S]
    python bench/processes.py --rounds 3 --seconds 3 --idle-seconds 3     # quick

A fresh PostgreSQL database (`--postgres`, default the local trust cluster) is migrated
and given a vendor with one agent per client. Each round runs both set-ups, alternating
which goes first: N server processes (embedded realtime hub, shipped settings) are
started on that one database and left to settle, then

1. idle: each process's CPU per second, nothing connected, read from /proc, over the
   server's longest periodic wake-up (its safety polls, bench/idle.py) unless
   `--idle-seconds` sets the window (a shorter one is printed with a warning: it may miss
   a wake-up and read better than the truth);
2. load: `--clients` concurrent keep-alive HTTP/1.1 clients, spread evenly over the
   processes, each making full calls (a customer starts a session to its own agent, the
   agent accepts, then ends it: three authenticated requests, each one write
   transaction) for `--seconds` after a 1 s warm-up. Printed: full calls/s, the
   processes' summed CPU per call, and p99 per request.

The baseline of the two-process figure is the one-process figure of the same round: the
goal (issue 12) is at least 1.6x the calls/s of one process with two, and under 2 ms of
CPU per second for an idle process. min / median / max over the rounds; the verdicts use
the medians. PostgreSQL and the load generator share the machine with the servers (on a
2-core machine, two servers, PostgreSQL and the client compete for the same cores), so
CPU per call is the figure to trust on a loaded machine. So each load window also
splits the machine's CPU per call between the servers, PostgreSQL (every `postgres`
process), this client and the rest, and prints the calls/s the cores would allow if the
servers, PostgreSQL and the client had them all: what two processes can add is bounded
by it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from api import Connection, HttpError, expect  # bench/api.py: the small HTTP/1.1 client
from callpad.auth import mint_user_token
from callpad.config import Settings
from callpad.testing import migrate
from idle import background_passes, idle_window, woke
from procfs import cpu_seconds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from testsupport.servers import free_port

HOST = "127.0.0.1"
GOAL_SPEED_UP = 1.6
GOAL_IDLE_MS = 2.0
WARMUP_S = 1.0
SETTLE_S = 3.0

# -- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    pid: int
    port: int
    log: Path


async def wait_ready(server: Server, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        conn = Connection(server.port)
        try:
            if (await conn.request("GET", "/readyz"))[0] == 200:
                return
        except (OSError, HttpError, ValueError):
            pass
        finally:
            await conn.close()
        if time.monotonic() > deadline:
            raise SystemExit(f"server not ready:\n{server.log.read_text(errors='replace')}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def servers(count: int, database_url: str, workdir: Path) -> AsyncIterator[list[Server]]:
    """`count` `callpad serve` processes on one database; SIGTERM on exit."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")},
        "CALLPAD_DATABASE_URL": database_url,
        "CALLPAD_DATA_DIR": str(workdir),
    }
    procs: list[asyncio.subprocess.Process] = []
    started: list[Server] = []
    try:
        for i in range(count):
            port = free_port()
            log = workdir / f"server{i}.log"
            argv = [sys.executable, "-c", "from callpad.cli import main; main()", "serve"]
            with log.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    *argv, "--host", HOST, "--port", str(port), env=env, stdout=out, stderr=out
                )
            procs.append(proc)
            started.append(Server(proc.pid, port, log))
        await asyncio.gather(*(wait_ready(s) for s in started))
        yield started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# -- the database ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(postgres: str) -> AsyncIterator[str]:
    """A new, migrated database on the PostgreSQL server at `postgres`; dropped on exit."""
    name = f"callpad_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(postgres)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
        await migrate(Settings(database_url=url))
        yield url
    finally:
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# -- measuring ---------------------------------------------------------------------------


def postgres_cpu_seconds() -> float:
    """CPU used so far by every PostgreSQL process on the machine (their exited
    connections' excluded: a load window's difference is what ran in it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # exited meanwhile
    return total


def machine_busy_seconds() -> float:
    """CPU the whole machine has spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    servers: float
    postgres: float
    client: float
    machine: float
    at: float

    @classmethod
    def now(cls, procs: list[Server]) -> CpuSample:
        return cls(
            servers=sum(cpu_seconds(s.pid) for s in procs),
            postgres=postgres_cpu_seconds(),
            client=time.process_time(),
            machine=machine_busy_seconds(),
            at=time.monotonic(),
        )


@dataclass
class Split:
    """CPU ms per full call of each party during the load, and how busy the machine was."""

    servers: float
    postgres: float
    client: float
    rest: float  # everything else on the machine (other helpers' work, the kernel's)
    busy: float  # fraction of all cores busy

    @classmethod
    def between(cls, a: CpuSample, b: CpuSample, calls: int) -> Split:
        def per_call(x: float, y: float) -> float:
            return (y - x) / calls * 1e3 if calls else float("nan")

        servers = per_call(a.servers, b.servers)
        postgres = per_call(a.postgres, b.postgres)
        client = per_call(a.client, b.client)
        rest = per_call(a.machine, b.machine) - servers - postgres - client
        busy = (b.machine - a.machine) / ((b.at - a.at) * (os.cpu_count() or 1))
        return cls(servers, postgres, client, rest, busy)

    def ceiling(self) -> float:
        """Full calls/s the machine's cores allow when servers, PostgreSQL and the client
        get all of them and nothing else runs."""
        ours = self.servers + self.postgres + self.client
        return (os.cpu_count() or 1) * 1e3 / ours if ours else float("nan")


@dataclass
class Figures:
    calls_per_s: float
    cpu_ms_per_call: float
    p99_ms: float
    idle_ms_per_s: list[float]  # one per process
    split: Split


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def idle_cpu(procs: list[Server], seconds: float) -> tuple[list[float], list[str]]:
    """Each process's CPU ms per second while nothing talks to it, and which of its
    background loops woke meanwhile."""
    await asyncio.sleep(SETTLE_S)

    async def passes() -> list[dict[str, int]]:  # outside the window: a request wakes it
        return [await asyncio.to_thread(background_passes, s.port) for s in procs]

    passes_before = await passes()
    before, started = [cpu_seconds(s.pid) for s in procs], time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    idle = [(cpu_seconds(s.pid) - b) / elapsed * 1e3 for s, b in zip(procs, before, strict=True)]
    woken = [woke(b, a) for b, a in zip(passes_before, await passes(), strict=True)]
    return idle, woken


async def full_calls(
    procs: list[Server], pairs: list[tuple[str, str, int]], seconds: float
) -> tuple[float, float, float, Split]:
    """(calls/s, CPU ms per call summed over the processes, p99 ms per request, the CPU
    split per call between servers, PostgreSQL, the client and the rest)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + WARMUP_S
    stop = start + seconds
    calls, latencies, errors = 0, [], []
    cpu: list[CpuSample] = []

    async def read_cpu() -> None:
        await asyncio.sleep(WARMUP_S)
        cpu.append(CpuSample.now(procs))
        await asyncio.sleep(max(0.0, stop - loop.time()))
        cpu.append(CpuSample.now(procs))

    async def client(index: int) -> None:
        nonlocal calls
        customer, agent, agent_id = pairs[index]
        conn = Connection(procs[index % len(procs)].port)
        target = {"target": {"type": "vendor_user", "user_id": agent_id}}
        try:
            while loop.time() < stop:
                times: list[float] = []
                try:
                    t = time.perf_counter()
                    status, body = await conn.request(
                        "POST", "/api/v1/vendors/bench/sessions", target, customer
                    )
                    session = expect(status, body, 201)["session"]
                    times.append(time.perf_counter() - t)
                    invitee = next(p for p in session["participants"] if p["user_id"] == agent_id)
                    base = f"/api/v1/vendors/bench/sessions/{session['id']}"
                    t = time.perf_counter()
                    accept = f"{base}/participants/{invitee['id']}/accept"
                    expect(*await conn.request("POST", accept, None, agent), 200)
                    times.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    expect(*await conn.request("POST", f"{base}/end", None, agent), 200)
                    times.append(time.perf_counter() - t)
                except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                    errors.append(f"client {index}: {exc}")
                    await conn.close()
                    conn = Connection(procs[index % len(procs)].port)
                    continue
                if start <= loop.time() <= stop:
                    calls += 1
                    latencies.extend(times)
        finally:
            await conn.close()

    await asyncio.gather(read_cpu(), *(client(i) for i in range(len(pairs))))
    if errors:
        raise SystemExit(f"{len(errors)} failed calls, e.g.\n  " + "\n  ".join(errors[:5]))
    split = Split.between(cpu[0], cpu[1], calls)
    return calls / seconds, split.servers, percentile(latencies, 0.99) * 1e3, split


async def set_up_vendor(server: Server, settings: Settings, agents: list[int]) -> None:
    admin = Connection(server.port)
    try:
        key = settings.admin_key
        vendor = {"slug": "bench", "name": "Bench"}
        expect(*await admin.request("POST", "/api/v1/admin/vendors", vendor, key), 201)
        for agent in agents:
            path = f"/api/v1/admin/vendors/bench/members/{agent}"
            status, body = await admin.request("PUT", path, {"role": "agent"}, key)
            if status not in (200, 201):
                raise HttpError(f"set member: {status} {body}")
    finally:
        await admin.close()


def describe(split: Split) -> str:
    return (
        f"CPU ms per call: servers {split.servers:.2f}, PostgreSQL {split.postgres:.2f}, "
        f"client {split.client:.2f}, rest of the machine {split.rest:.2f}; machine busy "
        f"{split.busy * 100:.0f} %; these cores allow {split.ceiling():.0f} full calls/s"
    )


def spread(values: list[float]) -> str:
    return f"{min(values):.3g} / {statistics.median(values):.3g} / {max(values):.3g}"


def report(results: dict[int, list[Figures]]) -> None:
    """min / median / max over the rounds, and the verdicts."""
    one, two = results[1], results[2]
    ratios = [b.calls_per_s / a.calls_per_s for a, b in zip(one, two, strict=True)]
    idle_all = [ms for f in one + two for ms in f.idle_ms_per_s]
    print("min / median / max over rounds:")
    for count, runs in results.items():
        print(
            f"  {count} process{'es' if count > 1 else '  '}: "
            f"full calls/s {spread([f.calls_per_s for f in runs])}; "
            f"CPU per call {spread([f.cpu_ms_per_call for f in runs])} ms; "
            f"p99 {spread([f.p99_ms for f in runs])} ms"
        )
        print(
            "      CPU ms per call: PostgreSQL "
            f"{spread([f.split.postgres for f in runs])}, client "
            f"{spread([f.split.client for f in runs])}, rest of the machine "
            f"{spread([f.split.rest for f in runs])}; machine busy "
            f"{spread([f.split.busy * 100 for f in runs])} %; the cores allow "
            f"{spread([f.split.ceiling() for f in runs])} full calls/s"
        )
    print(f"  2 / 1 processes, calls/s in the same round: {spread(ratios)}")
    print(f"  idle CPU per process: {spread(idle_all)} ms/s")
    speed_up, idle_ms = statistics.median(ratios), statistics.median(idle_all)
    met = "goal met" if speed_up >= GOAL_SPEED_UP else "goal missed"
    print(f"2 processes vs 1 (median): {speed_up:.2f}x (goal >= {GOAL_SPEED_UP:g}x: {met})")
    met = "goal met" if idle_ms < GOAL_IDLE_MS else "goal missed"
    print(f"idle process (median): {idle_ms:.2f} ms CPU/s (goal < {GOAL_IDLE_MS:g}: {met})")


async def main(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()}", flush=True)
    idle_s = idle_window(args.idle_seconds)
    results: dict[int, list[Figures]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="callpad-processes-") as tmp:
        workdir = Path(tmp)
        async with fresh_database(args.postgres) as database_url:
            settings = Settings(database_url=database_url)
            customers = [10_000 + i for i in range(args.clients)]
            agents = [20_000 + i for i in range(args.clients)]
            pairs = [
                (mint_user_token(settings, c), mint_user_token(settings, a), a)
                for c, a in zip(customers, agents, strict=True)
            ]
            ready = False
            for round_ in range(1, args.rounds + 1):
                for count in (1, 2) if round_ % 2 else (2, 1):
                    async with servers(count, database_url, workdir) as procs:
                        if not ready:
                            await set_up_vendor(procs[0], settings, agents)
                            ready = True
                        idle, woken = await idle_cpu(procs, idle_s)
                        calls, cpu_ms, p99, split = await full_calls(procs, pairs, args.seconds)
                    figures = Figures(calls, cpu_ms, p99, idle, split)
                    results[count].append(figures)
                    print(
                        f"round {round_}, {count} process{'es' if count > 1 else ''}: "
                        f"{calls:6.1f} full calls/s, {cpu_ms:5.2f} ms server CPU per call, "
                        f"p99 {p99:6.1f} ms per request, idle "
                        + ", ".join(f"{ms:.2f}" for ms in idle)
                        + f" ms CPU/s; load {os.getloadavg()[0]:.1f}\n  "
                        + describe(split)
                        + "".join(f"\n  process {i}: {w}" for i, w in enumerate(woken, 1)),
                        flush=True,
                    )
    report(results)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--idle-seconds",
        type=float,
        help="the idle window (default: the server's longest periodic wake-up)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    # A SIGTERM unwinds like Ctrl-C, so the servers this started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(parser.parse_args()))
