"""Background loops stop when cancelled, even when a driver disguises the cancellation."""

from __future__ import annotations

import asyncio

import pytest
from callpad.background import poll_loop


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
