"""Opt-in logging: `FARVEX_LOG=debug` (or `info`) prints the SDK's log to stderr.

`debug` shows each request with its status, time and request id, each retry and why, and
each realtime state change; `info` only retries, clock corrections and realtime problems.
Without the variable the SDK only logs to the `farvex` logger, as any library does, and
the app's logging configuration decides what is shown.
"""

from __future__ import annotations

import logging
import os

__all__ = ["setup_logging"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def setup_logging() -> None:
    level = _LEVELS.get(os.environ.get("FARVEX_LOG", "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("farvex")
    if not any(getattr(h, "_farvex", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler._farvex = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
