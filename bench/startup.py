"""Start-up and idle cost of `callpad`, beside a bare Python and a bare FastAPI app.

    python bench/startup.py [--rounds 3] [--idle-seconds S]
    python bench/startup.py --rounds 1 --idle-seconds 5      # quick (the idle figure less so)

Interleaved rounds, each measuring, from /proc and the children's rusage (CPU, not wall
time, so that a shared machine's load matters less):

- `callpad --help`: CPU of the whole process; baseline `python -c pass`.
- `callpad serve` (SQLite, a migrated database, nothing connected, the shipped settings):
  CPU until /readyz answers; baseline a FastAPI app with one route under uvicorn, until it
  answers.
- the same two servers idle, side by side over the same window after 5 s of settling: CPU
  per second. The window is, unless `--idle-seconds` sets it, the server's longest
  periodic wake-up (its safety polls, bench/idle.py): a shorter one may miss a wake-up
  and read better than the truth, so it is printed with a warning.

Goals (issue 12): `--help` under 0.3 s, the server ready under 1.5 s of CPU, an idle
process under 2 ms of CPU per second. min / median / max over the rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from idle import background_passes, idle_window, woke
from procfs import cpu_seconds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from testsupport.servers import free_port

GOAL_HELP_S = 0.3
GOAL_READY_S = 1.5
GOAL_IDLE_MS = 2.0
SETTLE_S = 5.0  # after both servers are ready, before the idle window
BIN = Path(sys.executable).parent
PLAIN_APP = (
    "import sys, uvicorn; from fastapi import FastAPI; app = FastAPI()\n"
    "@app.get('/readyz')\ndef ready(): return {}\n"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)


def child_cpu(argv: list[str]) -> float:
    """CPU (user + system) of one command run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@contextlib.contextmanager
def started(argv: list[str], port: int, env: dict[str, str]) -> Iterator[tuple[int, float]]:
    """A server, running until the block ends: its pid and its CPU until /readyz answered."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{argv} did not start") from None
                time.sleep(0.02)
        yield proc.pid, cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def idle_cpu(pids: list[int], seconds: float) -> list[float]:
    """Each process's CPU ms per second over the same `seconds`."""
    before, wall_before = [cpu_seconds(pid) for pid in pids], time.monotonic()
    time.sleep(seconds)
    after, elapsed = [cpu_seconds(pid) for pid in pids], time.monotonic() - wall_before
    return [(a - b) / elapsed * 1e3 for a, b in zip(after, before, strict=True)]


def summary(values: list[float], unit: str) -> str:
    return f"{min(values):.3g} / {statistics.median(values):.3g} / {max(values):.3g} {unit}"


def main(rounds: int, idle_s: float) -> None:
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="callpad-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CALLPAD_")}
        env["CALLPAD_DATA_DIR"] = tmp
        subprocess.run(
            [str(BIN / "callpad"), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        for round_ in range(1, rounds + 1):
            figures = {
                "help": child_cpu([str(BIN / "callpad"), "--help"]),
                "help, baseline python -c pass": child_cpu([sys.executable, "-c", "pass"]),
            }
            port = free_port()
            serve = [str(BIN / "callpad"), "serve", "--host", "127.0.0.1", "--port", str(port)]
            plain_port = free_port()
            plain = [sys.executable, "-c", PLAIN_APP, str(plain_port)]
            with (
                started(serve, port, env) as (pid, figures["ready"]),
                started(plain, plain_port, env) as (plain_pid, figures["ready, baseline FastAPI"]),
            ):
                time.sleep(SETTLE_S)
                passes = background_passes(port)  # outside the window: a request wakes it
                idle = idle_cpu([pid, plain_pid], idle_s)
                woken = woke(passes, background_passes(port))
            figures["idle"], figures["idle, baseline FastAPI"] = idle
            for name, value in figures.items():
                results.setdefault(name, []).append(value)
            print(
                f"round {round_}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()),
                flush=True,
            )
            print(f"  callpad serve: {woken}", flush=True)
    print("min / median / max over rounds:")
    for name, values in results.items():
        unit = "ms CPU/s" if name.startswith("idle") else "s CPU"
        print(f"  {name:32} {summary(values, unit)}")
    checks = [
        ("callpad --help", statistics.median(results["help"]), GOAL_HELP_S, "s CPU"),
        ("callpad serve ready", statistics.median(results["ready"]), GOAL_READY_S, "s CPU"),
        ("idle callpad serve", statistics.median(results["idle"]), GOAL_IDLE_MS, "ms CPU/s"),
    ]
    for name, value, goal, unit in checks:
        verdict = "goal met" if value < goal else "goal missed"
        print(f"{name} (median): {value:.3g} {unit} (goal < {goal:g}: {verdict})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--idle-seconds",
        type=float,
        help="the idle window (default: the server's longest periodic wake-up)",
    )
    # A SIGTERM unwinds like Ctrl-C, so the servers this started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parser.parse_args()
    main(args.rounds, idle_window(args.idle_seconds))
