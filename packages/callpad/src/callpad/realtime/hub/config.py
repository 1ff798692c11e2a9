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
    # How long a revocation outlives the tokens issued before it: the tokens' lifetime.
    token_ttl_s: float = 3600.0
    # What a peer may send. Before `connect` succeeds: this many bytes in all (the connect
    # command is a token and a few channel positions). After: messages of this size (a
    # command names a channel and a position), each at most this many commands.
    connect_max_bytes: int = 16 * 1024
    message_max_bytes: int = 64 * 1024
    max_commands_per_message: int = 100
