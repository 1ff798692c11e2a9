"""Memory over a soak of full calls: does `callpad serve` give back what idle channels held?

    python bench/soak.py [--calls 100000] [--clients 8] [--ttl 30] [--samples 20]

One real `callpad serve` (SQLite, the embedded hub, the shipped settings except the
realtime history TTL, shortened by `--ttl` so the run does not last the shipped 600 s)
on 127.0.0.1. Each call is made by a new customer (as a hostile or simply busy public
deployment sees them): the customer starts a session to one of the vendor's agents, the
agent accepts it and ends it. Every call publishes to the customer's own user channel,
the agent's channel and the vendor feed, so the hub holds one more stream (with history)
per customer until that history's TTL passes.

The server's RSS (/proc/PID/status VmRSS) is sampled `--samples` times over the run, and
once more after the TTL has passed with no traffic. The baseline is the RSS after the
warm-up (the first `--warmup` share of the calls: caches, the allocator's arenas and the
SQLite page cache have reached their size); the verdict compares the RSS at the end with
it. The goal (issue 12): flat memory, here at most `GOAL_GROWTH_MIB` MiB (or
`GOAL_GROWTH_SHARE` of the baseline, whichever is larger) above the baseline. The CPU per
call (from /proc) is printed beside it. The figures depend on the machine's load only
through the pace of the calls, not the memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from api import HOST, Connection, HttpError, expect, process, wait_ready
from callpad.auth import mint_user_token
from callpad.config import Settings
from callpad.testing import migrate
from procfs import cpu_seconds, rss_kib

from testsupport.servers import free_port

VENDOR = "soak"
AGENTS = 50
FIRST_CUSTOMER = 1_000_000
GOAL_GROWTH_MIB = 16.0
GOAL_GROWTH_SHARE = 0.10
HUB_TICK_S = 1.0  # the hub's ticker expires history at most this late


async def full_call(conn: Connection, settings: Settings, customer: int, agent: int) -> None:
    customer_token = mint_user_token(settings, customer)
    agent_token = mint_user_token(settings, agent)
    body = {"target": {"type": "vendor_user", "user_id": agent}}
    path = f"/api/v1/vendors/{VENDOR}/sessions"
    started = expect(*await conn.request("POST", path, body, customer_token), 201)
    session = started["session"]
    invitee = next(p for p in session["participants"] if p["user_id"] == agent)
    base = f"{path}/{session['id']}"
    accept = f"{base}/participants/{invitee['id']}/accept"
    expect(*await conn.request("POST", accept, None, agent_token), 200)
    ended = expect(*await conn.request("POST", f"{base}/end", None, agent_token), 200)
    if ended["state"] != "ended":
        raise HttpError(f"the call did not end: {ended}")


async def soak(
    port: int, pid: int, settings: Settings, calls: int, clients: int, samples: int, warmup: float
) -> tuple[float, list[tuple[int, float, float]]]:
    """Make `calls` full calls over `clients` connections; returns the RSS after the
    warm-up and (calls done, seconds, RSS) at each sample."""
    agents = [20_000 + i for i in range(AGENTS)]
    next_call = 0
    done = 0
    marks = sorted({max(1, calls * k // samples) for k in range(1, samples + 1)})
    warm_at = max(1, int(calls * warmup))
    baseline: float | None = None
    points: list[tuple[int, float, float]] = []
    started = time.perf_counter()
    progress = asyncio.Event()

    async def client(index: int) -> None:
        nonlocal next_call, done
        conn = Connection(port)
        try:
            while next_call < calls:
                number = next_call
                next_call += 1
                # Agents are shared: a busy agent is still invited (the call is direct).
                await full_call(conn, settings, FIRST_CUSTOMER + number, agents[index % AGENTS])
                done += 1
                progress.set()
        finally:
            await conn.close()

    workers = [asyncio.create_task(client(i)) for i in range(clients)]
    try:
        pending = sorted({warm_at, *marks})
        while pending:
            await progress.wait()
            progress.clear()
            while pending and done >= pending[0]:
                mark = pending.pop(0)
                rss = rss_kib(pid) / 1024
                if mark == warm_at:
                    baseline = rss
                    print(f"after warm-up ({done} calls): RSS {rss:.1f} MiB", flush=True)
                if mark not in marks:
                    continue
                elapsed = time.perf_counter() - started
                points.append((done, elapsed, rss))
                print(
                    f"{done:7d} calls  {elapsed:7.1f} s  {done / elapsed:6.1f} calls/s  "
                    f"RSS {rss:7.1f} MiB",
                    flush=True,
                )
            for worker in workers:
                if worker.done() and worker.exception() is not None:
                    raise worker.exception()  # type: ignore[misc]
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    assert baseline is not None
    return baseline, points


async def main(calls: int, clients: int, ttl_s: float, samples: int, warmup: float) -> None:
    with tempfile.TemporaryDirectory(prefix="callpad-soak-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'callpad.db'}"
        settings = Settings(database_url=database_url, data_dir=workdir)
        await migrate(settings)
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")},
            "CALLPAD_DATABASE_URL": database_url,
            "CALLPAD_DATA_DIR": str(workdir),
            "CALLPAD_REALTIME_HISTORY_TTL_S": str(ttl_s),
        }
        argv = [sys.executable, "-c", "from callpad.cli import main; main()", "serve"]
        argv += ["--host", HOST, "--port", str(port)]
        log = workdir / "callpad.log"
        async with process(argv, env, log) as pid:
            await wait_ready(port, "/readyz", log)
            admin = Connection(port)
            try:
                key = settings.admin_key
                vendor = {"slug": VENDOR, "name": "Soak"}
                expect(*await admin.request("POST", "/api/v1/admin/vendors", vendor, key), 201)
                for agent in range(20_000, 20_000 + AGENTS):
                    path = f"/api/v1/admin/vendors/{VENDOR}/members/{agent}"
                    status, body = await admin.request("PUT", path, {"role": "agent"}, key)
                    if status not in (200, 201):
                        raise SystemExit(f"set member: {status} {body}")
            finally:
                await admin.close()
            print(
                f"{calls} full calls (a new customer each) over {clients} connections to one "
                f"`callpad serve` (SQLite); realtime history TTL {ttl_s:g} s; started at RSS "
                f"{rss_kib(pid) / 1024:.1f} MiB; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            cpu_before = cpu_seconds(pid)
            baseline, points = await soak(port, pid, settings, calls, clients, samples, warmup)
            cpu_after = cpu_seconds(pid)
            peak = max(rss for _, _, rss in points)
            await asyncio.sleep(ttl_s + 2 * HUB_TICK_S)
            end = rss_kib(pid) / 1024
            print(
                f"after the TTL ({ttl_s:g} s with no traffic): RSS {end:.1f} MiB "
                f"(peak during the run {peak:.1f} MiB)",
                flush=True,
            )
        print(f"server CPU per full call: {(cpu_after - cpu_before) / calls * 1e3:.2f} ms")
    allowed = max(GOAL_GROWTH_MIB, baseline * GOAL_GROWTH_SHARE)
    growth = end - baseline
    verdict = "goal met" if growth <= allowed else "goal missed"
    print(
        f"RSS at the end - RSS after warm-up (baseline {baseline:.1f} MiB): {growth:+.1f} MiB "
        f"over {calls} calls (goal <= {allowed:.1f} MiB: {verdict}); load average "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="full calls in all")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP connections")
    parser.add_argument("--ttl", type=float, default=30.0, help="realtime history TTL (s)")
    parser.add_argument("--samples", type=int, default=20, help="RSS samples over the run")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of calls to warm up")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.clients, args.ttl, args.samples, args.warmup))
