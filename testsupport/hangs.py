"""Hangs made short and named. `bounded` fails an await that takes too long with the name
of the step; `tasks_shown_before_the_timeout` prints, a moment before pytest-timeout fails
a test, the stack of every asyncio task of the test's event loop.

pytest-timeout prints the threads' stacks only; a test whose loop sits idle in `select()`
shows nothing there but the loop itself, while the await that never finished is in some
task. The loop is idle in that case, so a `call_later` on it still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import traceback
import types
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any, TypeVar

import pytest

__all__ = [
    "STEP_S",
    "StepHung",
    "bounded",
    "task_stacks",
    "tasks_shown_before_the_timeout",
]

# A `livekit` client operation (connect, publish, disconnect) waits for a callback from the
# client's native layer, with no bound of its own; one that takes this long has hung.
STEP_S = 15.0

T = TypeVar("T")


class StepHung(AssertionError):
    """A step of a test's setup or teardown did not finish in time: its name says which."""


async def bounded(what: str, step: Awaitable[T], within_s: float = STEP_S) -> T:
    """`await step`, failing with `what` named if it takes longer than `within_s`; the
    cancelled await (the one that hung) is in the error's cause."""
    bound = asyncio.timeout(within_s)
    try:
        async with bound:
            return await step
    except TimeoutError as exc:
        if not bound.expired():
            raise
        raise StepHung(f"{what} did not finish in {within_s:g} s") from exc


def task_stacks(tasks: Iterable[asyncio.Task[Any]] | None = None) -> str:
    """Where each of `tasks` (default: every other task of the running loop) waits: its
    chain of awaits, outermost first, down to what it awaits last."""
    current = asyncio.current_task()
    chosen = [t for t in (asyncio.all_tasks() if tasks is None else tasks) if t is not current]
    out = io.StringIO()
    for task in sorted(chosen, key=lambda task: task.get_name()):
        frames, awaited = _await_chain(task.get_coro())
        print(f"{task!r}:", file=out)  # its repr names the future it waits for
        out.writelines(traceback.StackSummary.extract((f, f.f_lineno) for f in frames).format())
        if awaited is not None and type(awaited).__name__ != "FutureIter":
            print(f"  awaiting {awaited!r}", file=out)
    return out.getvalue()


_MOST_FRAMES = 200  # a chain that loops back on itself is cut off here


def _await_chain(awaitable: Any) -> tuple[list[types.FrameType], Any]:
    """The frames of a suspended coroutine and of each coroutine it awaits in turn (what
    `Task.print_stack` leaves out), and the last thing awaited (a future, say)."""
    frames: list[types.FrameType] = []
    while awaitable is not None and len(frames) < _MOST_FRAMES:
        frame = _first_attribute(awaitable, "cr_frame", "gi_frame", "ag_frame")
        if frame is None:
            if frames and type(awaitable).__name__.startswith("async_generator_"):
                # An async generator's asend(): it does not point back to its generator,
                # which the awaiting frame holds (an async context manager's `self.gen`).
                generator = _awaiting_async_generator(frames[-1])
                if generator is not None:
                    awaitable = generator
                    continue
            return frames, awaitable
        frames.append(frame)
        awaitable = _first_attribute(awaitable, "cr_await", "gi_yieldfrom", "ag_await")
    return frames, None


def _first_attribute(obj: Any, *names: str) -> Any:
    return next(
        (getattr(obj, name) for name in names if getattr(obj, name, None) is not None), None
    )


def _awaiting_async_generator(frame: types.FrameType) -> Any:
    for value in frame.f_locals.values():
        for candidate in (value, getattr(value, "gen", None)):
            if inspect.isasyncgen(candidate) and candidate.ag_await is not None:
                return candidate
    return None


# How long before pytest-timeout fires the tasks are shown: the test's own fixtures were set
# up between pytest-timeout's start and this one's, so it must be earlier by that much.
_EARLIER_S = 10.0


@contextlib.contextmanager
def tasks_shown_before_the_timeout(item: pytest.Item) -> Iterator[None]:
    """Within the running loop: show every task's stack shortly before `item` times out."""
    timeout = _timeout_of(item)
    if timeout <= 2 * _EARLIER_S:
        yield
        return
    loop = asyncio.get_running_loop()
    shown = loop.call_later(timeout - _EARLIER_S, _show_tasks, item, timeout)
    try:
        yield
    finally:
        shown.cancel()


def _timeout_of(item: pytest.Item) -> float:
    """pytest-timeout's timeout for `item` (its marker, else --timeout or the ini); 0 if none."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    configured: Any = item.config.getoption("timeout", None) or item.config.getini("timeout")
    return float(configured or 0)


def _show_tasks(item: pytest.Item, timeout: float) -> None:
    shown = task_stacks()
    capture = item.config.pluginmanager.getplugin("capturemanager")
    writer = item.config.get_terminal_writer()
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        writer.sep("+", title="asyncio tasks before the timeout")
        writer.line(f"{item.nodeid}: still running {timeout - _EARLIER_S:g} s in; its tasks:")
        writer.write(shown)
        writer.sep("+", title="asyncio tasks before the timeout")
        writer.flush()
