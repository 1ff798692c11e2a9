"""The first page of a vendor's session list at 1,000 / 10,000 / 100,000 sessions.

    python bench/lists.py [--rounds 3] [--requests 200]

For each size, a SQLite database (migrated to head, in a temporary directory) holds that
many sessions of one vendor (all but 20 ended, as a vendor's history is), and the owner
asks for the first page (`GET /vendors/acme/sessions?status=all`, the default 50 items,
and `status=live`) through the real app in this process (`httpx.ASGITransport`: auth,
FastAPI, the query, the views). Each measurement is the p50 of `--requests` requests.

Baseline, in the same run: the same databases with the indexes from before migration 0004
(`(vendor_id, state, created_at)` only), where a page of `status=all` sorts every
session of the vendor.

Rounds interleave sizes and index sets; each figure is printed as min / median / max of
the rounds' p50s, with the CPU time per request (this process: the app and the in-process
client). The goal: the first page's p50 at 100,000 sessions within 2x of its p50 at 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from callpad.auth import mint_user_token
from callpad.db.tables import LIVE_SESSION, members, sessions, vendors
from callpad.domain import Direction, Invitee, ParticipantKind, Role, Session
from callpad.domain import transitions as t
from callpad.sessions.codec import to_document
from callpad.testing import fast_settings, migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # testsupport, at the root

from testsupport.api import running_app

SIZES = (1_000, 10_000, 100_000)
LIVE = 20
OWNER = 1
GOAL_RATIO = 2.0
QUERIES = ("all", "live")
NEW_INDEXES = {
    "ix_sessions_vendor_id_created_at_id": "(vendor_id, created_at, id)",
    "ix_sessions_vendor_id_state_created_at_id": "(vendor_id, state, created_at, id)",
    "ix_sessions_live_vendor_id_created_at_id": "(vendor_id, created_at, id) WHERE " + LIVE_SESSION,
}
OLD_INDEXES = {"ix_sessions_vendor_id_state_created_at": "(vendor_id, state, created_at)"}


def ended_call(n: int, at: datetime) -> Session:
    """The stored document of a call that was answered and ended (a typical history row)."""
    s = t.start_session(
        session_id=f"ses_{n:032x}",
        vendor="acme",
        name=f"call {n}",
        room=f"room_{n}",
        direction=Direction.INBOUND,
        target={"type": "vendor_user", "user_id": 42},
        initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=1000 + n),
        initiator_participant_id=f"par_{n:030x}a",
        invitees=[(f"par_{n:030x}b", Invitee(ParticipantKind.USER, Role.AGENT, user_id=42))],
        ring_timeout_s=30,
        now=at,
    )
    s = t.accept(s, f"par_{n:030x}b", at + timedelta(seconds=2))
    return t.end(s, f"par_{n:030x}b", at + timedelta(seconds=60))


def live_call(n: int, at: datetime) -> Session:
    s = t.start_session(
        session_id=f"ses_{n:032x}",
        vendor="acme",
        name=f"call {n}",
        room=f"room_{n}",
        direction=Direction.INBOUND,
        target={"type": "vendor_user", "user_id": 42},
        initiator=Invitee(ParticipantKind.USER, Role.CUSTOMER, user_id=1000 + n),
        initiator_participant_id=f"par_{n:030x}a",
        invitees=[(f"par_{n:030x}b", Invitee(ParticipantKind.USER, Role.AGENT, user_id=42))],
        ring_timeout_s=30,
        now=at,
    )
    return t.accept(s, f"par_{n:030x}b", at + timedelta(seconds=2))


async def build(path: Path, size: int) -> None:
    url = f"sqlite:///{path}"
    await migrate(fast_settings(url))
    engine = sa.create_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            vendors.insert().values(slug="acme", name="Acme", ring_timeout_s=30, created_at=start)
        )
        vendor_id = conn.execute(sa.select(vendors.c.id)).scalar_one()
        conn.execute(
            members.insert().values(
                vendor_id=vendor_id, user_id=OWNER, role="owner", created_at=start
            )
        )
        batch = []
        for n in range(size):
            at = start + timedelta(seconds=n)
            call = live_call(n, at) if n >= size - LIVE else ended_call(n, at)
            batch.append(
                {
                    "id": call.id,
                    "vendor_id": vendor_id,
                    "version": call.version,
                    "state": call.state,
                    "document": to_document(call),
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(batch) == 5_000:
                conn.execute(sessions.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(sessions.insert(), batch)
    engine.dispose()


def use_indexes(path: Path, wanted: dict[str, str], unwanted: dict[str, str]) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for name in unwanted:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        for name, columns in wanted.items():
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON sessions {columns}")
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


@dataclass
class Figures:
    p50_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


@asynccontextmanager
async def client(path: Path) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    settings = fast_settings(f"sqlite:///{path}")
    token = mint_user_token(settings, OWNER, 3600)
    async with running_app(settings, migrated=True) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://callpad") as http:

            async def first_page(status: str) -> None:
                response = await http.get(
                    "/api/v1/vendors/acme/sessions",
                    params={"status": status},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                assert len(response.json()["sessions"]) == (50 if status == "all" else LIVE)

            yield first_page


async def measure(path: Path, status: str, requests: int) -> tuple[float, float]:
    """(p50 ms, CPU ms per request) of the first page."""
    async with client(path) as first_page:
        for _ in range(5):
            await first_page(status)
        latencies = []
        cpu = time.process_time()
        for _ in range(requests):
            began = time.perf_counter()
            await first_page(status)
            latencies.append(time.perf_counter() - began)
        cpu = time.process_time() - cpu
    return statistics.median(latencies) * 1000, cpu / requests * 1000


def spread(values: list[float]) -> str:
    return f"{min(values):7.2f} / {statistics.median(values):7.2f} / {max(values):7.2f}"


async def main(rounds: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        paths = {size: Path(workdir) / f"lists-{size}.db" for size in SIZES}
        for size, path in paths.items():
            began = time.perf_counter()
            await build(path, size)
            print(f"built {size:>7,} sessions in {time.perf_counter() - began:5.1f} s")
        figures: dict[tuple[str, str, int], Figures] = {}
        for round_ in range(rounds):
            for indexes in ("0004", "before"):
                for size, path in paths.items():
                    if indexes == "0004":
                        use_indexes(path, NEW_INDEXES, OLD_INDEXES)
                    else:
                        use_indexes(path, OLD_INDEXES, NEW_INDEXES)
                    for status in QUERIES:
                        p50, cpu = await measure(path, status, requests)
                        got = figures.setdefault((indexes, status, size), Figures())
                        got.p50_ms.append(p50)
                        got.cpu_ms.append(cpu)
            print(f"round {round_ + 1}/{rounds} done")

    print()
    print("first page p50, ms (min / median / max over rounds); CPU ms per request (median)")
    for status in QUERIES:
        for indexes, label in (("0004", "with 0004 indexes"), ("before", "baseline: before")):
            for size in SIZES:
                f = figures[(indexes, status, size)]
                print(
                    f"  status={status:<4} {label:<18} {size:>7,} sessions: "
                    f"{spread(f.p50_ms)}   CPU {statistics.median(f.cpu_ms):6.2f}"
                )
    print()
    verdicts = []
    for status in QUERIES:
        small = statistics.median(figures[("0004", status, SIZES[0])].p50_ms)
        large = statistics.median(figures[("0004", status, SIZES[-1])].p50_ms)
        base_small = statistics.median(figures[("before", status, SIZES[0])].p50_ms)
        base_large = statistics.median(figures[("before", status, SIZES[-1])].p50_ms)
        ratio = large / small
        met = ratio <= GOAL_RATIO
        verdicts.append(met)
        print(
            f"status={status}: p50 at {SIZES[-1]:,} / at {SIZES[0]:,} = {ratio:.2f}x "
            f"(baseline {base_large / base_small:.2f}x); goal <= {GOAL_RATIO:.0f}x: "
            f"{'met' if met else 'NOT met'}"
        )
    print(f"verdict: {'goal met' if all(verdicts) else 'goal NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.requests))
