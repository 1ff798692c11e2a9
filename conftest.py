"""Workspace-wide fixtures: the real servers `make services` provides (testsupport/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.servers import (
    CentrifugoServer,
    LiveKitServer,
    redis_url,
    run_centrifugo_nodes,
    run_livekit,
)


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """One real livekit-server for the run (tests use rooms of their own)."""
    with run_livekit(tmp_path_factory.mktemp("livekit")) as server:
        yield server


@pytest.fixture(scope="session")
def redis() -> str:
    """The URL of the Redis that `make services` started."""
    return redis_url()


@pytest.fixture
def centrifugo(tmp_path: Path, redis: str) -> Iterator[CentrifugoServer]:
    """A real Centrifugo node running docs/centrifugo/config.json on the Redis engine."""
    with run_centrifugo_nodes(tmp_path / "centrifugo", redis) as (node,):
        yield node
