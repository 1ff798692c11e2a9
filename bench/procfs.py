"""What the benches read from Linux's /proc about one process: its CPU time and its memory.

The benches report CPU, not wall time, so that a shared machine's load matters less; CPU
is the figure they exist for. So without /proc (not Linux) the first read stops the bench
with one line rather than printing figures with CPU left out. A process that has exited
(or is a zombie) raises ProcessLookupError: a bench that reads one has lost its server.

Ports for the servers a bench starts come from `testsupport.servers.free_port`, as the
tests' do.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "rss_kib", "tick_seconds"]

_NO_PROC = "no /proc here: this bench reads CPU time and memory from Linux's /proc"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, in seconds."""
    fields = _read(pid, "stat").rpartition(")")[2].split()
    # After the command name (which may hold spaces and parentheses): state is field 3,
    # utime and stime, in clock ticks, are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) * tick_seconds()


def tick_seconds() -> float:
    """The clock tick /proc counts CPU time in (10 ms on Linux): no CPU figure is finer."""
    return 1 / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """The process's resident memory (VmRSS), in KiB as the kernel counts it."""
    for line in _read(pid, "status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcessLookupError(f"process {pid} has exited (a zombie has no VmRSS)")


def _read(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except FileNotFoundError:
        if not Path("/proc/self/stat").exists():
            raise SystemExit(_NO_PROC) from None
        raise ProcessLookupError(f"process {pid} has exited") from None
