"""How long a bench watches an idle `callpad serve`: at least its longest periodic wake-up.

An idle server does no work until something happens, except on its safety polls: the
timers', dispatch queue's and media jobs' (`CALLPAD_TIMER_POLL_INTERVAL_S`) and the
realtime relay's (`CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S`). A window shorter than the
longest of them may hold none of that poll's wake-ups and read better than the truth; a
window as long holds each poll's wake-up at least once, as often as it comes. The benches
start their servers without CALLPAD_ variables for these, so the shipped defaults are
the intervals in force.
"""

from __future__ import annotations

from callpad.config import Settings
from procfs import tick_seconds

__all__ = ["idle_window", "periodic_wakeups"]


def periodic_wakeups() -> dict[str, float]:
    """The idle server's periodic wake-ups (seconds apart), by the setting that sets each."""
    shipped = Settings.model_construct()  # the defaults, whatever this shell's CALLPAD_*
    return {
        "CALLPAD_TIMER_POLL_INTERVAL_S": shipped.timer_poll_interval_s,
        "CALLPAD_REALTIME_RELAY_POLL_INTERVAL_S": shipped.realtime_relay_poll_interval_s,
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
