"""farvex.testing: a pytest plugin running a real Callpad server in-process (being built)."""

from __future__ import annotations

__all__: list[str] = []
