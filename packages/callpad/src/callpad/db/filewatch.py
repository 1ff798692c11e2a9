"""Waiting for files to be written to, without polling: Linux inotify, through ctypes.

`FileWatch.open(directory, names)` is None where inotify is missing (another OS, a
sandbox that refuses it); the caller then polls instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import struct
from pathlib import Path

__all__ = ["FileWatch"]

_IN_MODIFY = 0x002
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_Q_OVERFLOW = 0x4000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then `len` bytes of name


class FileWatch:
    """Writes to, creations of, and renames onto the files `names` in one directory."""

    def __init__(self, fd: int, names: frozenset[bytes]) -> None:
        self._fd = fd
        self._names = names

    @classmethod
    def open(cls, directory: Path, names: set[str]) -> FileWatch | None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add_watch = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError):
            return None
        fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        mask = _IN_MODIFY | _IN_CREATE | _IN_MOVED_TO
        if add_watch(fd, os.fsencode(directory), mask) < 0:
            os.close(fd)
            return None
        return cls(fd, frozenset(os.fsencode(n) for n in names))

    async def written(self) -> None:
        """Return once one of the files was written to since the last call (or since
        `open`). The descriptor is watched only while this waits: between calls, writes
        queue in the kernel (repeated ones as one) and cost nothing."""
        loop = asyncio.get_running_loop()
        while True:
            readable = asyncio.Event()
            loop.add_reader(self._fd, readable.set)
            try:
                await readable.wait()
            finally:
                loop.remove_reader(self._fd)
            if self._drain():
                return

    def _drain(self) -> bool:
        """Read every queued event; whether one names a watched file."""
        hit = False
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return hit
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset : offset + length].rstrip(b"\0")
                offset += length
                hit = hit or name in self._names or bool(mask & _IN_Q_OVERFLOW)

    def close(self) -> None:
        os.close(self._fd)
