"""Full calls per second on one `callpad serve`, beside a plain insert measured in the same run.

    python bench/api.py [--seconds 5] [--rounds 5] [--clients 20]

Two server processes on 127.0.0.1, each with a SQLite database (WAL, aiosqlite under
SQLAlchemy async) in a temporary directory, driven in alternating rounds by the same number
of concurrent HTTP/1.1 keep-alive clients for the same time:

1. baseline: a plain FastAPI app (`PLAIN_APP` below) whose one endpoint inserts one row.
2. callpad: full calls. A customer starts a session to an agent, the agent accepts it,
   then ends it: three requests, each authenticated, each one write transaction.

Each round prints requests/s for both, each server's CPU time per request (from /proc,
where there is one), and the ratio of the cost of one session request to the cost of one
plain insert (baseline requests/s over session requests/s); the verdict uses the median
ratio over the rounds. The goal is at most 3.

The load generator is a minimal HTTP/1.1 client over asyncio streams, so that the client,
which shares the machine, costs as little as possible and the numbers measure the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from callpad.auth import mint_user_token
from callpad.config import Settings
from callpad.db.engine import Database
from callpad.testing import migrate
from fastapi import FastAPI
from pydantic import BaseModel

HOST = "127.0.0.1"
GOAL_RATIO = 3.0
WARMUP_S = 1.0


# -- the baseline server -----------------------------------------------------------------


class NewRow(BaseModel):
    name: str


class Created(BaseModel):
    id: int


def serve_plain(port: int, database_path: Path) -> None:
    """The baseline: one FastAPI endpoint inserting one row, nothing else."""
    metadata = sa.MetaData()
    rows = sa.Table(
        "rows",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    # The server's own Database: the same engine options, PRAGMAs (WAL) and BEGIN IMMEDIATE.
    db = Database(f"sqlite+aiosqlite:///{database_path}")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with db.write() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await db.dispose()

    app = FastAPI(lifespan=lifespan)
    # Built once, as Callpad builds the statements of its write path.
    insert = rows.insert()

    @app.post("/rows", status_code=201)
    async def insert_row(body: NewRow) -> Created:
        async with db.write() as conn:
            result = await conn.execute(insert, {"name": body.name, "created_at": time.time()})
        key = result.inserted_primary_key
        assert key is not None
        return Created(id=key[0])

    # As `callpad serve` runs uvicorn: same host, same log level (access log included).
    uvicorn.run(app, host=HOST, port=port, log_level="info")


# -- a small HTTP/1.1 keep-alive client ---------------------------------------------------


class HttpError(RuntimeError):
    pass


class Connection:
    """One keep-alive connection; one request at a time, like one browser tab."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"host: {HOST}:{self.port}"]
        if token is not None:
            head.append(f"authorization: Bearer {token}")
        head.append(f"content-length: {len(payload)}")
        if body is not None:
            head.append("content-type: application/json")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode(errors="replace")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()


def expect(status: int, body: Any, wanted: int) -> Any:
    if status != wanted:
        raise HttpError(f"expected {wanted}, got {status}: {body}")
    return body


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def process(argv: list[str], env: dict[str, str], log: Path) -> AsyncIterator[int]:
    """A server subprocess, stopped with SIGTERM on exit; its output goes to `log`.
    Yields its pid."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_ready(port: int, path: str, log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        conn = Connection(port)
        try:
            status, _ = await conn.request("GET", path)
            if status < 500:
                return
        except (OSError, HttpError):
            pass
        finally:
            await conn.close()
        if time.monotonic() > deadline:
            raise SystemExit(f"server on port {port} not ready:\n{read_log(log)}")
        await asyncio.sleep(0.1)


# -- load --------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    units: int = 0
    errors: list[str] = field(default_factory=list)


async def drive(
    clients: int,
    seconds: float,
    port: int,
    unit: Callable[[int, Connection], Awaitable[int]],
) -> tuple[Tally, float]:
    """Run `unit` in a loop on each client; count what completes in the measured window.

    `unit` returns how many requests it made. The first WARMUP_S are not counted.
    """
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time() + WARMUP_S
    stop = start + seconds

    async def client(index: int) -> None:
        conn = Connection(port)
        try:
            while loop.time() < stop:
                try:
                    made = await unit(index, conn)
                except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                    tally.errors.append(f"client {index}: {exc}")
                    await conn.close()
                    conn = Connection(port)
                    continue
                now = loop.time()
                if start <= now <= stop:
                    tally.requests += made
                    tally.units += 1
        finally:
            await conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return tally, seconds


@dataclass
class Rate:
    per_second: float
    cpu_us_per_request: float | None  # the server's CPU time per counted request


Measure = Callable[[float], Awaitable[Rate]]


async def measured(
    pid: int,
    clients: int,
    seconds: float,
    port: int,
    unit: Callable[[int, Connection], Awaitable[int]],
    phase: str,
) -> Rate:
    cpu_before = cpu_seconds(pid)
    tally, elapsed = await drive(clients, seconds, port, unit)
    cpu_after = cpu_seconds(pid)
    report_errors(phase, tally)
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and tally.requests:
        # Includes the warm-up second's work; the same for both servers.
        cpu_us = (cpu_after - cpu_before) / tally.requests * (seconds / (seconds + WARMUP_S)) * 1e6
    return Rate(tally.requests / elapsed, cpu_us)


@contextlib.asynccontextmanager
async def plain_server(workdir: Path, clients: int) -> AsyncIterator[Measure]:
    """The baseline server, running; yields `measure(seconds) -> requests/s`."""
    port = free_port()
    log = workdir / "plain.log"
    argv = [sys.executable, __file__, "--serve-plain", str(port), str(workdir / "plain.db")]
    async with process(argv, dict(os.environ), log) as pid:
        await wait_ready(port, "/openapi.json", log)

        async def insert(index: int, conn: Connection) -> int:
            expect(*await conn.request("POST", "/rows", {"name": f"client {index}"}), 201)
            return 1

        async def measure(seconds: float) -> Rate:
            return await measured(pid, clients, seconds, port, insert, "plain insert")

        yield measure


@contextlib.asynccontextmanager
async def callpad_server(workdir: Path, clients: int) -> AsyncIterator[Measure]:
    """`callpad serve`, running, with a vendor and its agents; yields
    `measure(seconds) -> session requests/s` (full calls: start, accept, end)."""
    port = free_port()
    log = workdir / "callpad.log"
    database_url = f"sqlite:///{workdir / 'callpad.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")},
        "CALLPAD_DATABASE_URL": database_url,
        "CALLPAD_DATA_DIR": str(workdir),
    }
    settings = Settings(database_url=database_url, data_dir=workdir)
    await migrate(settings)
    customers = [10_000 + i for i in range(clients)]
    agents = [20_000 + i for i in range(clients)]
    tokens = {user: mint_user_token(settings, user) for user in customers + agents}
    argv = [sys.executable, "-c", "from callpad.cli import main; main()", "serve"]
    argv += ["--host", HOST, "--port", str(port)]
    async with process(argv, env, log) as pid:
        await wait_ready(port, "/readyz", log)
        admin = Connection(port)
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

        async def full_call(index: int, conn: Connection) -> int:
            customer, agent = customers[index], agents[index]
            target = {"target": {"type": "vendor_user", "user_id": agent}}
            started = expect(
                *await conn.request(
                    "POST", "/api/v1/vendors/bench/sessions", target, tokens[customer]
                ),
                201,
            )
            session = started["session"]
            invitee = next(p for p in session["participants"] if p["user_id"] == agent)
            base = f"/api/v1/vendors/bench/sessions/{session['id']}"
            accept = f"{base}/participants/{invitee['id']}/accept"
            expect(*await conn.request("POST", accept, None, tokens[agent]), 200)
            ended = expect(*await conn.request("POST", f"{base}/end", None, tokens[agent]), 200)
            if ended["state"] != "ended":
                raise HttpError(f"the call did not end: {ended}")
            return 3

        async def measure(seconds: float) -> Rate:
            return await measured(pid, clients, seconds, port, full_call, "callpad")

        yield measure


def cpu_note(rate: Rate) -> str:
    if rate.cpu_us_per_request is None:
        return ""
    return f" ({rate.cpu_us_per_request:5.0f} us CPU each)"


def report_errors(phase: str, tally: Tally) -> None:
    if tally.errors:
        shown = "\n  ".join(tally.errors[:5])
        raise SystemExit(f"{phase}: {len(tally.errors)} failed requests, e.g.\n  {shown}")


async def main(clients: int, seconds: float, rounds: int) -> None:
    """Both servers run side by side (the idle one costs nothing); the rounds alternate
    between them, so drift on a noisy machine hits both, and the median ratio is reported."""
    with tempfile.TemporaryDirectory(prefix="callpad-bench-") as tmp:
        workdir = Path(tmp)
        print(
            f"{clients} concurrent clients, {rounds} rounds of {seconds:g} s per server, "
            "one server process each",
            flush=True,
        )
        ratios: list[float] = []
        async with (
            plain_server(workdir, clients) as plain,
            callpad_server(workdir, clients) as callpad,
        ):
            for round_ in range(1, rounds + 1):
                inserts = await plain(seconds)
                sessions = await callpad(seconds)
                ratio = (
                    inserts.per_second / sessions.per_second
                    if sessions.per_second
                    else float("inf")
                )
                ratios.append(ratio)
                print(
                    f"round {round_}: plain insert {inserts.per_second:7.1f} req/s"
                    f"{cpu_note(inserts)}, session requests {sessions.per_second:6.1f} req/s"
                    f"{cpu_note(sessions)} ({sessions.per_second / 3:5.1f} full calls/s), "
                    f"ratio {ratio:.2f}",
                    flush=True,
                )
        median = statistics.median(ratios)
        verdict = "goal met" if median <= GOAL_RATIO else "goal missed"
        print(
            f"cost per session request / cost per plain insert, median of {rounds}: "
            f"{median:.2f} (goal <= {GOAL_RATIO:g}: {verdict})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per phase")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--serve-plain", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain:
        serve_plain(int(args.serve_plain[0]), Path(args.serve_plain[1]))
    else:
        asyncio.run(main(args.clients, args.seconds, args.rounds))
