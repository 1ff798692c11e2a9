"""How long a bench watches an idle `callpad serve`: at least its longest periodic wake-up.

An idle server does no work until something happens, except on its safety polls: the
timers', dispatch queue's, media jobs' and presence's (`CALLPAD_TIMER_POLL_INTERVAL_S`),
the realtime relay's (`CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S`), and the purge of old rows
(`callpad.workers.PURGE_INTERVAL_S`). A window shorter than the longest of them may hold
none of that loop's wake-ups and read better than the truth; a window as long holds each
loop's wake-up at least once, as often as it comes. The benches start their servers
without CALLPAD_ variables for these, so the shipped defaults are the intervals in force.

The server counts each background loop's passes (`callpad_background_passes_total` on
/metrics): read before and after the window, they show which loops woke in it.
"""

from __future__ import annotations

import re
import urllib.request

from callpad.config import Settings
from callpad.workers import PURGE_INTERVAL_S
from procfs import tick_seconds

__all__ = ["background_passes", "idle_window", "periodic_wakeups", "woke"]

PASSES = re.compile(r'^callpad_background_passes_total\{loop="([^"]+)"\} ([0-9.e+]+)$', re.M)


def periodic_wakeups() -> dict[str, float]:
    """The idle server's periodic wake-ups (seconds apart), by what sets each."""
    shipped = Settings.model_construct()  # the defaults, whatever this shell's CALLPAD_*
    return {
        "CALLPAD_TIMER_POLL_INTERVAL_S": shipped.timer_poll_interval_s,
        "CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S": shipped.realtime_relay_poll_interval_s,
        "PURGE_INTERVAL_S": PURGE_INTERVAL_S,
    }


def idle_window(requested_s: float | None) -> float:
    """The idle window, in seconds: `requested_s` if given, else the longest periodic
    wake-up. Prints the window and why, and a warning when it is shorter than that."""
    wakeups = periodic_wakeups()
    longest = max(wakeups.values())
    listed = ", ".join(f"{name} {seconds:g} s" for name, seconds in wakeups.items())
    window = longest if requested_s is None else requested_s
    # CPU time comes in ticks: the idle figure is a whole number of them over the window.
    step = f"one /proc tick is {tick_seconds() / window * 1e3:.2g} ms/s over it"
    if requested_s is None:
        print(
            f"idle window {window:g} s: the longest periodic wake-up of an idle server "
            f"({listed}), so each wakes in it at least once; {step}",
            flush=True,
        )
    elif requested_s < longest:
        print(
            f"warning: idle window {window:g} s (--idle-seconds) is shorter than the "
            f"longest periodic wake-up of an idle server ({listed}): a wake-up may fall "
            f"outside it, and the idle figure read better than the truth; {step}",
            flush=True,
        )
    else:
        print(f"idle window {window:g} s (--idle-seconds; wake-ups: {listed}); {step}", flush=True)
    return window


def background_passes(port: int) -> dict[str, int]:
    """Each background loop's passes so far in the server on `port`, from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        metrics = answer.read().decode()
    return {loop: int(float(count)) for loop, count in PASSES.findall(metrics)}


def woke(before: dict[str, int], after: dict[str, int]) -> str:
    """Which loops passed in a window, from `background_passes` at its two ends."""
    if not after:
        return "the server counts no background passes (no callpad_background_passes_total)"
    passes = ", ".join(f"{loop} {after[loop] - before.get(loop, 0)}" for loop in sorted(after))
    missed = [loop for loop in sorted(after) if after[loop] == before.get(loop, 0)]
    if not missed:
        return f"background passes in the idle window: {passes} (every loop woke in it)"
    if len(missed) == len(after):
        return (
            f"no background pass in the idle window (of {', '.join(missed)}): the figure may "
            "leave out their wake-ups"
        )
    return (
        f"background passes in the idle window: {passes}; no pass of {', '.join(missed)}: "
        "the figure may leave out their wake-ups"
    )
