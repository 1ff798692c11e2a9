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
import io
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
    """The stack of each of `tasks` (default: every task of the running loop), innermost
    await last."""
    out = io.StringIO()
    chosen = asyncio.all_tasks() if tasks is None else tasks
    for task in sorted(chosen, key=lambda task: task.get_name()):
        task.print_stack(file=out)
    return out.getvalue()


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
