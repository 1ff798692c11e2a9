"""Background loops stop when cancelled, even when a driver disguises the cancellation, and
timers run at their due time, woken by commits, not by polling."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from callpad.background import Alarm, poll_loop
from callpad.clock import utcnow
from callpad.db import changes
from callpad.db.filewatch import FileWatch
from callpad.db.transaction import AfterCommit
from callpad.testing import fast_settings

from testsupport.api import Api, eventually, running_app


async def test_a_cancellation_turned_into_an_error_still_stops_the_loop() -> None:
    started = asyncio.Event()

    async def step_like_a_driver() -> int:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("connection is closed") from None  # what asyncpg may do
        return 0

    loop = asyncio.create_task(poll_loop(step_like_a_driver, interval_s=0.01, name="test"))
    await started.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop, 10)


async def test_a_failing_step_is_retried_and_work_runs_again_at_once() -> None:
    calls: list[int] = []
    done = asyncio.Event()

    async def step() -> int:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("transient")
        if len(calls) < 5:
            return 1  # found work: run again without waiting
        done.set()
        return 0

    loop = asyncio.create_task(poll_loop(step, interval_s=3600, name="test"))
    await asyncio.wait_for(done.wait(), 10)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert len(calls) == 5


async def test_safety_polls_of_equal_interval_wake_together() -> None:
    """An idle process wakes once per safety interval for all its loops, not once each:
    loops started half an interval apart pass at the same multiples of the interval."""
    interval = 0.4
    passes: dict[str, list[float]] = {"a": [], "b": []}
    loop = asyncio.get_running_loop()

    def step_of(name: str) -> Callable[[], Awaitable[int]]:
        async def step() -> int:
            passes[name].append(loop.time() / interval)  # in intervals of the grid
            return 0

        return step

    first = asyncio.create_task(poll_loop(step_of("a"), interval_s=interval, name="a"))
    await asyncio.sleep(interval / 2)
    second = asyncio.create_task(poll_loop(step_of("b"), interval_s=interval, name="b"))
    await eventually(lambda: len(passes["a"]) >= 4 and len(passes["b"]) >= 4)
    first.cancel()
    second.cancel()
    # After each loop's first pass (when it starts), every pass is just past a multiple of
    # the interval (without the grid, the two would be half an interval apart).
    for times in passes.values():
        assert all(t % 1 < 0.25 for t in times[1:4]), passes


async def test_a_timer_loop_runs_at_its_next_due_time_without_polling() -> None:
    runs: list[datetime] = []
    ran_twice = asyncio.Event()

    async def step() -> int:
        runs.append(utcnow())
        if len(runs) == 2:
            ran_twice.set()
        return 0

    async def next_due() -> datetime:
        return runs[0] + timedelta(milliseconds=50)

    loop = asyncio.create_task(
        poll_loop(step, interval_s=3600, wake=Alarm(), next_due=next_due, name="test")
    )
    await asyncio.wait_for(ran_twice.wait(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert runs[1] >= runs[0] + timedelta(milliseconds=50)


async def test_a_commit_due_before_the_sleep_target_wakes_the_loop_and_a_later_one_does_not() -> (
    None
):
    alarm = Alarm()
    far = utcnow() + timedelta(hours=1)
    runs = 0
    sleeping = asyncio.Event()

    async def step() -> int:
        nonlocal runs
        runs += 1
        return 0

    async def next_due() -> datetime:
        sleeping.set()
        return far

    loop = asyncio.create_task(
        poll_loop(step, interval_s=3600, wake=alarm, next_due=next_due, name="test")
    )
    await asyncio.wait_for(sleeping.wait(), 30)
    await asyncio.sleep(0)  # it sleeps until `far`
    sleeping_until = alarm.deadline.at
    assert sleeping_until is not None
    assert sleeping_until > alarm.deadline.clock() + 3000
    alarm.due(far + timedelta(seconds=1))  # later than what it sleeps for: nothing to do
    assert alarm.deadline.at == sleeping_until
    sleeping.clear()
    alarm.due(utcnow())  # earlier: run now
    await asyncio.wait_for(sleeping.wait(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert runs == 2


async def test_a_commit_due_later_shortens_the_sleep_without_running_the_step() -> None:
    alarm = Alarm()
    runs: list[datetime] = []
    sleeping = asyncio.Event()

    async def step() -> int:
        runs.append(utcnow())
        return 0

    async def next_due() -> None:
        sleeping.set()
        return None  # nothing due: it sleeps for its (long) safety poll

    loop = asyncio.create_task(
        poll_loop(step, interval_s=3600, wake=alarm, next_due=next_due, name="test")
    )
    await asyncio.wait_for(sleeping.wait(), 30)
    sleeping.clear()
    due = utcnow() + timedelta(milliseconds=300)
    alarm.due(due)  # a ring written with this deadline: no step until it falls due
    await asyncio.sleep(0.05)
    assert len(runs) == 1
    await asyncio.wait_for(sleeping.wait(), 30)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert len(runs) == 2
    assert runs[1] >= due


async def test_a_ring_times_out_on_time_with_no_polling(tmp_path: Path) -> None:
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'callpad.db'}",
        timer_poll_interval_s=3600,
        realtime_relay_poll_interval_s=3600,
    )
    async with running_app(settings) as app, Api.in_process(app, settings) as api:
        await api.create_vendor("acme", {42: "agent"}, ring_timeout_s=0.2)
        started = await api.post(
            7, "/vendors/acme/sessions", json={"target": {"type": "vendor_user", "user_id": 42}}
        )
        assert started.status_code == 201, started.text
        sid = started.json()["session"]["id"]

        async def missed() -> bool:
            view = (await api.get(7, f"/vendors/acme/sessions/{sid}")).json()
            return bool(view["state"] == "ended" and view["end_reason"] == "missed")

        await eventually(missed, within_s=30)


@pytest.mark.parametrize("how", ["inotify", "polling"])
async def test_another_process_commit_on_the_sqlite_file_wakes_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The file watch wakes on a commit made through another connection (as another
    server process or `callpad admin` would), and not while nobody writes; where inotify
    is missing, by comparing the files."""
    if how == "polling":
        monkeypatch.setattr(FileWatch, "open", lambda *_: None)
    path = tmp_path / "shared.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    woken: list[AfterCommit] = []
    wake = asyncio.Event()

    def on_change(record: AfterCommit) -> None:
        woken.append(record)
        wake.set()

    watch = asyncio.create_task(changes.watch_sqlite_file(path, on_change, interval_s=0.01))
    try:
        await asyncio.sleep(0.2)  # the watch is in place; nothing was written since
        assert woken == []
        writer.execute("INSERT INTO t VALUES (1)")
        await asyncio.wait_for(wake.wait(), 10)
        assert woken[0].outbox_written and woken[0].dispatch_queue_changed
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
        writer.close()


async def test_a_call_waiting_in_the_queue_rings_an_agent_the_moment_their_call_ends(
    tmp_path: Path,
) -> None:
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'callpad.db'}",
        timer_poll_interval_s=3600,
        realtime_relay_poll_interval_s=3600,
        sqlite_watch_interval_s=3600,  # only the commit itself can wake the queue
    )
    async with running_app(settings) as app, Api.in_process(app, settings) as api:
        await api.create_vendor("acme", {1: "owner", 42: "agent"})
        put = await api.put(1, "/vendors/acme/teams/support", json={"members": [42]})
        assert put.status_code == 200, put.text
        # An ordinary call first, with nothing queued: its end has no queue to wake.
        talking = await api.post(
            7, "/vendors/acme/sessions", json={"target": {"type": "vendor_user", "user_id": 42}}
        )
        assert talking.status_code == 201, talking.text
        first = talking.json()["session"]
        invited = next(p for p in first["participants"] if p["user_id"] == 42)
        accept = f"/vendors/acme/sessions/{first['id']}/participants/{invited['id']}/accept"
        assert (await api.post(42, accept)).status_code == 200
        presence = await api.put(42, "/vendors/acme/presence/me", json={"status": "available"})
        assert presence.status_code == 200, presence.text
        waiting = await api.post(
            8, "/vendors/acme/sessions", json={"target": {"type": "team", "team": "support"}}
        )
        assert waiting.status_code == 201, waiting.text
        sid = waiting.json()["session"]["id"]
        assert waiting.json()["session"]["dispatches"][0]["state"] == "queued"

        async def placed() -> bool:
            view = (await api.get(8, f"/vendors/acme/sessions/{sid}")).json()
            return bool(view["dispatches"][0]["queue_position"] == 1)

        await eventually(placed, within_s=30)  # the queue was served once, in vain
        await asyncio.sleep(0.5)  # and its worker went back to sleep
        ended = await api.post(42, f"/vendors/acme/sessions/{first['id']}/end")
        assert ended.status_code == 200, ended.text

        async def rung() -> bool:
            view = (await api.get(8, f"/vendors/acme/sessions/{sid}")).json()
            return any(p["user_id"] == 42 and p["state"] == "invited" for p in view["participants"])

        await eventually(rung, within_s=30)
