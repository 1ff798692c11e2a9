"""The hub's settings, built from `Settings` by `realtime.runtime.hub_config`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HubConfig"]


@dataclass(frozen=True, slots=True)
class HubConfig:
    secret: str
    history_size: int = 1000
    history_ttl_s: float = 600.0
    ping_interval_s: float = 25.0
    pong_timeout_s: float = 8.0
    expired_close_delay_s: float = 25.0
    connect_timeout_s: float = 10.0
    queue_max_bytes: int = 1024 * 1024
