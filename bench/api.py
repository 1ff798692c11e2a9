"""Server CPU per session request against a plain insert, measured in the same run.

    python bench/api.py [--seconds 5] [--rounds 5] [--clients 20]
    python bench/api.py --rounds 3 --seconds 3          # quick
    python bench/api.py --postgres --processes 2        # callpad on PostgreSQL, 2 processes

Two servers on 127.0.0.1, driven in alternating rounds by the same number of concurrent
HTTP/1.1 keep-alive clients for the same time:

1. baseline: a plain FastAPI app (`serve_plain` below), one process, whose one endpoint
   inserts one row into an SQLite file in a temporary directory with the stock async
   stack: SQLAlchemy's `create_async_engine("sqlite+aiosqlite://...")`, WAL,
   `synchronous=NORMAL`, `BEGIN IMMEDIATE`, and writers queued on an asyncio lock (what
   Callpad's own database layer did when the goal was set). It is defined here, not
   imported from Callpad, so that making Callpad's database layer cheaper or dearer never
   moves the baseline with it.
2. callpad: `callpad serve` (SQLite by default; `--postgres` makes a fresh database on the
   server `CALLPAD_TEST_DATABASE_URL` names, dropped after; `--processes N` runs N of them
   on that database, clients spread over them; the embedded realtime hub, the shipped
   settings) making full calls: a customer starts a session to an agent, the agent
   accepts it, then ends it. Three requests, each authenticated, each one write
   transaction. Every customer and agent holds a realtime connection (the real
   centrifuge-python client, on the channels its grant names) for the whole run; at the
   end the bench checks that each connection received every event the server's outbox
   holds for its channels, in order, none twice.

Each round prints requests/s for both, each server's CPU time per counted request (user +
system, from /proc, read at the start and the end of the measured window), the ratio of
the two CPU costs, full calls/s and the p99 of one session request's latency. The verdict
is the median CPU ratio over the rounds (min / median / max printed). Goal (issue 12): a
session request costs at most 2x the plain insert's server CPU, with realtime clients
connected and every event delivered. Full calls/s and p99 are printed beside their goal
(300 full calls/s with p99 under 50 ms), for the database and process count run.

Callpad's CPU per request includes what its background work (timers, relay, hub ticker)
costs per second, spread over the round's requests; that idle figure is measured first
and printed, so a round with few requests (a loaded machine) can be read for what it is.

The load generator is a minimal HTTP/1.1 client over asyncio streams, so that the client,
which shares the machine, costs as little as possible. CPU per request is the figure to
trust on a loaded machine; requests/s and latency move with whatever else runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
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
from callpad.db.tables import outbox
from callpad.testing import migrate
from centrifuge import (
    Client,
    ClientEventHandler,
    DisconnectedContext,
    ServerPublicationContext,
)
from fastapi import FastAPI
from procfs import cpu_seconds
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testsupport, at the root

from testsupport.servers import free_port

HOST = "127.0.0.1"
GOAL_RATIO = 2.0  # session request CPU / plain insert CPU
GOAL_CALLS_PER_S = 300.0
GOAL_P99_MS = 50.0
WARMUP_S = 1.0
IDLE_S = 3.0  # callpad's CPU with its connections open and no request, measured first


# -- the baseline server -----------------------------------------------------------------


class NewRow(BaseModel):
    name: str


class Created(BaseModel):
    id: int


def serve_plain(port: int, database_path: Path) -> None:
    """The baseline: one FastAPI endpoint inserting one row, on the stock async stack."""
    metadata = sa.MetaData()
    rows = sa.Table(
        "rows",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    engine = create_async_engine(f"sqlite+aiosqlite:///{database_path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    # One writer at a time, queued here rather than on SQLite's busy handler.
    writer = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    insert = rows.insert()  # built once, as Callpad builds the statements of its write path

    @app.post("/rows", status_code=201)
    async def insert_row(body: NewRow) -> Created:
        async with writer, engine.begin() as conn:
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
    latencies_s: list[float] = field(default_factory=list)  # each counted request's
    errors: list[str] = field(default_factory=list)


Unit = Callable[[int, Connection, list[float]], Awaitable[None]]


@dataclass
class Rate:
    per_second: float
    units_per_second: float
    cpu_us_per_request: float  # the server's CPU time per counted request
    p99_ms: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def timed(
    conn: Connection, latencies: list[float], method: str, path: str, body: Any, token: str | None
) -> tuple[int, Any]:
    started = time.perf_counter()
    answer = await conn.request(method, path, body, token)
    latencies.append(time.perf_counter() - started)
    return answer


async def measured(
    pids: list[int], clients: int, seconds: float, ports: list[int], unit: Unit
) -> Rate:
    """Run `unit` in a loop on each client (client i on `ports[i % len(ports)]`). After
    WARMUP_S, count for `seconds` what completes, and read the servers' CPU time (all
    processes together) at both ends of that window."""
    tally = Tally()
    loop = asyncio.get_running_loop()
    start = loop.time() + WARMUP_S
    stop = start + seconds
    cpu: list[float] = []

    def total_cpu() -> float:
        return sum(cpu_seconds(pid) for pid in pids)

    async def read_cpu() -> None:
        await asyncio.sleep(WARMUP_S)
        cpu.append(total_cpu())
        await asyncio.sleep(max(0.0, stop - loop.time()))
        cpu.append(total_cpu())

    async def client(index: int) -> None:
        port = ports[index % len(ports)]
        conn = Connection(port)
        try:
            while loop.time() < stop:
                latencies: list[float] = []
                try:
                    await unit(index, conn, latencies)
                except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                    tally.errors.append(f"client {index}: {exc}")
                    await conn.close()
                    conn = Connection(port)
                    continue
                if start <= loop.time() <= stop:
                    tally.requests += len(latencies)
                    tally.units += 1
                    tally.latencies_s.extend(latencies)
        finally:
            await conn.close()

    await asyncio.gather(read_cpu(), *(client(i) for i in range(clients)))
    if tally.errors:
        shown = "\n  ".join(tally.errors[:5])
        raise SystemExit(f"{len(tally.errors)} failed requests, e.g.\n  {shown}")
    if not tally.requests:
        raise SystemExit(f"no request completed in the {seconds:g} s measured")
    before, after = cpu
    return Rate(
        tally.requests / seconds,
        tally.units / seconds,
        (after - before) / tally.requests * 1e6,
        percentile(tally.latencies_s, 0.99) * 1000,
    )


Measure = Callable[[float], Awaitable[Rate]]


@contextlib.asynccontextmanager
async def plain_server(workdir: Path, clients: int) -> AsyncIterator[Measure]:
    """The baseline server, running; yields `measure(seconds)`."""
    port = free_port()
    # A folder of its own: Callpad's SQLite watch wakes for writes in its database's folder.
    own = workdir / "plain"
    own.mkdir()
    log = own / "plain.log"
    argv = [sys.executable, __file__, "--serve-plain", str(port), str(own / "plain.db")]
    async with process(argv, dict(os.environ), log) as pid:
        await wait_ready(port, "/openapi.json", log)

        async def insert(index: int, conn: Connection, latencies: list[float]) -> None:
            row = {"name": f"client {index}"}
            expect(*await timed(conn, latencies, "POST", "/rows", row, None), 201)

        async def measure(seconds: float) -> Rate:
            return await measured([pid], clients, seconds, [port], insert)

        yield measure


# -- realtime clients ----------------------------------------------------------------------


class Received(ClientEventHandler):
    """What one centrifuge-python connection received: (offset, data) per channel."""

    def __init__(self) -> None:
        self.publications: dict[str, list[tuple[int, Any]]] = {}
        self.disconnects = 0

    async def on_publication(self, ctx: ServerPublicationContext) -> None:
        self.publications.setdefault(ctx.channel, []).append((ctx.pub.offset, ctx.pub.data))

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        self.disconnects += 1


@dataclass
class Listener:
    user_id: int
    channels: list[str]
    received: Received
    client: Client


async def listen(port: int, token: str, user_id: int, grant_path: str) -> Listener:
    """A user's realtime connection, on the channels the API grants them."""
    conn = Connection(port)
    try:
        grant = expect(*await conn.request("GET", grant_path, None, token), 200)
    finally:
        await conn.close()
    received = Received()
    url = f"ws://{HOST}:{port}/connection/websocket"
    client = Client(url, events=received, token=grant["token"], proxy=None)
    await client.connect()
    await client.ready(timeout=30)
    return Listener(user_id, grant["channels"], received, client)


async def outbox_by_channel(database_url: str) -> dict[str, list[Any]]:
    """What the server committed for each channel, in commit order: the source of truth."""
    db = Database(database_url)
    try:
        async with db.read() as conn:
            query = sa.select(outbox.c.channels, outbox.c.topic, outbox.c.data).order_by(
                outbox.c.id
            )
            rows = (await conn.execute(query)).all()
    finally:
        await db.dispose()
    by_channel: dict[str, list[Any]] = {}
    for channels, topic, data in rows:
        for channel in channels:
            by_channel.setdefault(channel, []).append({"topic": topic, "data": data})
    return by_channel


def undelivered(listeners: list[Listener], committed: dict[str, list[Any]]) -> list[str]:
    """Each connection must hold exactly its channels' committed events, in order, with
    offsets 1, 2, 3...; what falls short, described (empty when all arrived)."""
    problems = []
    for listener in listeners:
        for channel in listener.channels:
            got = listener.received.publications.get(channel, [])
            wanted = committed.get(channel, [])
            offsets = [offset for offset, _ in got]
            if [data for _, data in got] != wanted or offsets != list(range(1, len(got) + 1)):
                problems.append(
                    f"user {listener.user_id} on {channel}: {len(got)} of {len(wanted)} events"
                    f" (offsets {offsets[:3]}...)"
                )
    return problems


# -- callpad -----------------------------------------------------------------------------


@dataclass
class CallpadRun:
    measure: Measure
    check_deliveries: Callable[[], Awaitable[tuple[int, list[str]]]]
    idle_cpu_ms_per_s: float  # with every connection open and no request


@contextlib.asynccontextmanager
async def callpad_server(
    workdir: Path, clients: int, database_url: str, processes: int
) -> AsyncIterator[CallpadRun]:
    """`callpad serve` (`processes` of them on one database), running, with a vendor, its
    agents and their customers, every one of them connected to the realtime hub (spread
    over the processes, as the HTTP clients are)."""
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
    async with contextlib.AsyncExitStack() as stack:
        ports, pids = [], []
        for n in range(processes):
            port = free_port()
            argv = [sys.executable, "-c", "from callpad.cli import main; main()", "serve"]
            argv += ["--host", HOST, "--port", str(port)]
            log = workdir / f"callpad-{n}.log"
            pids.append(await stack.enter_async_context(process(argv, env, log)))
            await wait_ready(port, "/readyz", log)
            ports.append(port)
        admin = Connection(ports[0])
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
        # A call's customer and agent use the same process as its HTTP client.
        listeners = await asyncio.gather(
            *(
                listen(ports[i % processes], tokens[c], c, "/api/v1/realtime/grant")
                for i, c in enumerate(customers)
            ),
            *(
                listen(ports[i % processes], tokens[a], a, "/api/v1/vendors/bench/realtime/grant")
                for i, a in enumerate(agents)
            ),
        )

        async def full_call(index: int, conn: Connection, latencies: list[float]) -> None:
            customer, agent = customers[index], agents[index]
            target = {"target": {"type": "vendor_user", "user_id": agent}}
            start_path = "/api/v1/vendors/bench/sessions"
            started = expect(
                *await timed(conn, latencies, "POST", start_path, target, tokens[customer]), 201
            )
            session = started["session"]
            invitee = next(p for p in session["participants"] if p["user_id"] == agent)
            base = f"/api/v1/vendors/bench/sessions/{session['id']}"
            accept = f"{base}/participants/{invitee['id']}/accept"
            expect(*await timed(conn, latencies, "POST", accept, None, tokens[agent]), 200)
            end = f"{base}/end"
            ended = expect(*await timed(conn, latencies, "POST", end, None, tokens[agent]), 200)
            if ended["state"] != "ended":
                raise HttpError(f"the call did not end: {ended}")

        async def measure(seconds: float) -> Rate:
            return await measured(pids, clients, seconds, ports, full_call)

        async def check_deliveries(timeout_s: float = 30.0) -> tuple[int, list[str]]:
            """Wait for every committed event to reach its connections; (events, problems)."""
            committed = await outbox_by_channel(settings.resolved_database_url())
            deadline = time.monotonic() + timeout_s
            problems = undelivered(listeners, committed)
            while problems and time.monotonic() < deadline:
                await asyncio.sleep(0.2)  # deliveries are polled: nothing signals "all"
                problems = undelivered(listeners, committed)
            if any(listener.received.disconnects for listener in listeners):
                problems.append("a realtime connection was dropped during the run")
            watched = {c for listener in listeners for c in listener.channels}
            return sum(len(committed.get(c, [])) for c in watched), problems

        await asyncio.sleep(1.0)  # the connections settle
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(IDLE_S)
        idle = (sum(cpu_seconds(pid) for pid in pids) - before) / IDLE_S * 1000
        try:
            yield CallpadRun(measure, check_deliveries, idle)
        finally:
            for listener in listeners:
                await listener.client.disconnect()


@contextlib.asynccontextmanager
async def callpad_database(workdir: Path, postgres: bool) -> AsyncIterator[str]:
    """A fresh database for callpad: SQLite in `workdir`, or a new PostgreSQL database on
    the server `CALLPAD_TEST_DATABASE_URL` names (default postgres@127.0.0.1:5432), dropped
    after."""
    if not postgres:
        yield f"sqlite:///{workdir / 'callpad.db'}"
        return
    from testsupport.postgres import postgres_database

    async with postgres_database() as url:
        yield url


def describe(rate: Rate) -> str:
    return (
        f"{rate.per_second:6.1f} req/s, {rate.cpu_us_per_request:6.0f} us CPU, "
        f"p99 {rate.p99_ms:5.1f} ms"
    )


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


async def main(clients: int, seconds: float, rounds: int, postgres: bool, processes: int) -> None:
    """Both servers run side by side (the idle one costs next to nothing); the rounds
    alternate between them, so drift on a noisy machine hits both."""
    with tempfile.TemporaryDirectory(prefix="callpad-bench-") as tmp:
        workdir = Path(tmp)
        where = "PostgreSQL" if postgres else "SQLite"
        print(
            f"{clients} concurrent clients, {rounds} rounds of {seconds:g} s per server; callpad: "
            f"{processes} process(es) on {where}, {2 * clients} realtime connections; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        ratios: list[float] = []
        calls: list[float] = []
        p99s: list[float] = []
        async with (
            plain_server(workdir, clients) as plain,
            callpad_database(workdir, postgres) as database_url,
            callpad_server(workdir, clients, database_url, processes) as callpad,
        ):
            print(
                f"callpad idle, {2 * clients} connections open: "
                f"{callpad.idle_cpu_ms_per_s:.1f} ms CPU per second (all processes; included "
                "in the CPU per session request below, spread over that round's requests)",
                flush=True,
            )
            for round_ in range(1, rounds + 1):
                inserts = await plain(seconds)
                sessions = await callpad.measure(seconds)
                ratio = sessions.cpu_us_per_request / inserts.cpu_us_per_request
                ratios.append(ratio)
                calls.append(sessions.units_per_second)
                p99s.append(sessions.p99_ms)
                print(
                    f"round {round_}: plain insert {describe(inserts)} | session requests "
                    f"{describe(sessions)}, {sessions.units_per_second:5.1f} full calls/s | "
                    f"CPU ratio {ratio:.2f}",
                    flush=True,
                )
            events, problems = await callpad.check_deliveries()
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        if problems:
            shown = "\n  ".join(problems[:10])
            raise SystemExit(f"events not delivered ({len(problems)} channels):\n  {shown}")
        print(f"realtime: all {events} committed events reached their {2 * clients} connections")
        median = statistics.median(ratios)
        verdict = "goal met" if median <= GOAL_RATIO else "goal missed"
        print(
            f"CPU per session request / CPU per plain insert, min / median / max of {rounds}: "
            f"{spread(ratios)} (goal <= {GOAL_RATIO:g} on the median: {verdict})"
        )
        best = max(calls)
        rate_verdict = (
            "goal met"
            if statistics.median(calls) >= GOAL_CALLS_PER_S
            and statistics.median(p99s) < GOAL_P99_MS
            else "goal missed"
        )
        print(
            f"full calls/s, {where}, {processes} process(es), min / median / max: "
            f"{spread(calls)}; "
            f"p99 per request {spread(p99s)} ms (goal >= {GOAL_CALLS_PER_S:g} calls/s with "
            f"p99 < {GOAL_P99_MS:g} ms: {rate_verdict}; best {best:.1f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per phase")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--postgres", action="store_true", help="callpad on PostgreSQL")
    parser.add_argument("--processes", type=int, default=1, help="callpad serve processes")
    parser.add_argument("--serve-plain", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain:
        serve_plain(int(args.serve_plain[0]), Path(args.serve_plain[1]))
    else:
        asyncio.run(main(args.clients, args.seconds, args.rounds, args.postgres, args.processes))
