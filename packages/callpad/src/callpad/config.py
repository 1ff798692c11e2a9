"""One settings object for the whole server, read from `CALLPAD_*` environment variables."""

from __future__ import annotations

import contextlib
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEV_ADMIN_KEY",
    "DEV_AUTH_SECRET",
    "DEV_LIVEKIT_KEY",
    "DEV_LIVEKIT_SECRET",
    "MediaMode",
    "Settings",
]

DEV_AUTH_SECRET = "callpad-dev-secret-change-me-0123456789"
DEV_ADMIN_KEY = "callpad-dev-admin-key"
# What `livekit-server --dev` runs with.
DEV_LIVEKIT_KEY = "devkey"
DEV_LIVEKIT_SECRET = "secret"


class MediaMode(StrEnum):
    OFFLINE = "offline"
    LIVEKIT = "livekit"


ENV_PREFIX = "CALLPAD_"


class Settings(BaseModel):
    """Every knob of the server. See docs/configuration.md.

    Each field is read from `CALLPAD_<FIELD>` (any case) unless given as an argument;
    a field holding a mapping is read as JSON. (pydantic-settings did this, at ~0.2 s of
    every start-up for what these few lines do.)"""

    model_config = ConfigDict(extra="ignore")

    # Storage
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir. "
        "postgresql://... is accepted and driven with asyncpg.",
    )

    # HTTP
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 64 * 1024
    # On SIGTERM: how long open requests and connections get to finish before they are
    # cancelled (the database and realtime shut down after that).
    shutdown_timeout_s: int = Field(default=5, ge=0)

    # Auth
    auth_secret: str | None = DEV_AUTH_SECRET
    auth_jwks_url: str | None = None
    auth_audience: str | None = None
    auth_issuer: str | None = None
    admin_key: str = DEV_ADMIN_KEY
    dev_token_ttl_s: int = 24 * 3600

    # Sessions
    default_ring_timeout_s: float = 30.0
    # Timers, media jobs, the dispatch queue and the presence sweep wake on commits (this
    # process's, and the others' through NOTIFY or the SQLite file) and at their next due
    # row; this is only the safety poll behind those wake-ups, and how often the connection
    # that LISTENs for them is checked.
    timer_poll_interval_s: float = Field(default=300.0, gt=0)
    # SQLite: at most how often other processes' commits wake this one's workers (where
    # inotify is missing: how often the database file is checked for them).
    sqlite_watch_interval_s: float = 0.5
    # Embedded hub: a member whose every realtime connection has been gone this long is
    # set offline. 0: connections never change presence.
    presence_offline_grace_s: float = Field(default=60.0, ge=0)
    idempotency_ttl_s: int = 24 * 3600
    retention_s: int = 3600

    # Media
    media: MediaMode = MediaMode.OFFLINE
    livekit_url: str = "ws://127.0.0.1:7880"
    livekit_api_url: str | None = Field(
        default=None,
        description="Where the server calls LiveKit's API; defaults to livekit_url over http(s).",
    )
    livekit_api_key: str = DEV_LIVEKIT_KEY
    livekit_api_secret: str = DEV_LIVEKIT_SECRET
    livekit_empty_timeout_s: int = 120
    livekit_departure_timeout_s: int = 20
    livekit_max_participants: int = 20
    livekit_end_sessions_with_room: bool = True
    livekit_recorder: Literal["builtin", "egress"] = "builtin"
    # A recording still `starting` this long after it was asked for fails (and is stopped):
    # an Egress stuck in STARTING (livekit/egress#384), a recorder whose process died.
    livekit_recording_start_timeout_s: float = Field(default=60, gt=0)
    livekit_egress_filepath: str = "recordings/{session_id}/{recording_id}.ogg"
    livekit_sip_trunks: dict[str, str] = Field(
        default_factory=dict,
        description='Outbound SIP trunk ids per vendor slug, `"*"` for any other vendor.',
    )
    join_grant_ttl_s: int = 6 * 3600
    offline_answer_delay_s: float = 1.0

    # Realtime
    realtime_token_ttl_s: int = 3600
    realtime_mode: Literal["embedded", "centrifugo"] = "embedded"
    realtime_hmac_secret: str = "callpad-dev-realtime-secret-change-me-0123456789"
    realtime_history_size: int = 1000
    realtime_history_ttl_s: float = 600.0
    realtime_ping_interval_s: float = 25.0
    realtime_pong_timeout_s: float = 8.0
    realtime_expired_close_delay_s: float = 25.0
    realtime_connect_timeout_s: float = 10.0
    realtime_client_queue_max_bytes: int = 1024 * 1024
    realtime_relay_batch_size: int = 500
    # A safety poll: commits (any process's) wake the relay.
    realtime_relay_poll_interval_s: float = Field(default=300.0, gt=0)
    realtime_relay_gap_timeout_s: float = 10.0
    realtime_centrifugo_url: str = "ws://127.0.0.1:8000/connection/websocket"
    realtime_centrifugo_api_url: str = "http://127.0.0.1:8000/api"
    realtime_centrifugo_api_key: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        return {**_environment(cls), **values}

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(SUPPORTED_DATABASE_URLS):
            raise ValueError(
                "Callpad stores its data in SQLite (sqlite:///path) or PostgreSQL "
                f"(postgresql://...), not {url.split(':', 1)[0]!r}"
            )
        return url

    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL the server connects with."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'callpad.db'}"
        return to_async_url(url)

    def presence_heartbeat_s(self) -> float:
        """How often a process records the users connected to its hub while any are: a few
        times per grace, so a reconnect is noticed well within it."""
        return max(0.05, min(10.0, self.presence_offline_grace_s / 4))

    @field_validator("livekit_egress_filepath")
    @classmethod
    def _names_the_recording(cls, value: str) -> str:
        if not value.endswith("{recording_id}.ogg"):
            raise ValueError("must end with {recording_id}.ogg: webhooks find recordings by it")
        return value

    def resolved_livekit_api_url(self) -> str:
        """The HTTP(S) URL of LiveKit's server API."""
        if self.livekit_api_url:
            return self.livekit_api_url
        for ws, http in (("wss://", "https://"), ("ws://", "http://")):
            if self.livekit_url.startswith(ws):
                return http + self.livekit_url[len(ws) :]
        return self.livekit_url


def _environment(settings: type[BaseModel]) -> dict[str, Any]:
    """The fields set in the environment: strings, for pydantic to convert as it would an
    argument; JSON decoded for mappings and lists (left as text when it is not JSON, for
    pydantic to refuse with the field's name)."""
    found = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    values: dict[str, Any] = {}
    for name, field in settings.model_fields.items():
        raw = found.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        values[name] = raw
        if get_origin(field.annotation) in (dict, list) or field.annotation in (dict, list):
            with contextlib.suppress(ValueError):
                values[name] = json.loads(raw)
    return values


SUPPORTED_DATABASE_URLS = (
    "sqlite://",
    "sqlite+aiosqlite://",
    "postgresql://",
    "postgres://",
    "postgresql+asyncpg://",
)


def to_async_url(url: str) -> str:
    """Map a plain database URL onto the async driver the server uses."""
    for plain, async_ in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url
