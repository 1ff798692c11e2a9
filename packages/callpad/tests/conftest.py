"""Fixtures: every app test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from callpad.config import Settings
from callpad.testing import (
    Api,
    PostgresUnavailable,
    fast_settings,
    postgres_database,
    running_app,
)
from fastapi import FastAPI


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'callpad.db'}"
        return
    try:
        async with postgres_database() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return fast_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as app:
        yield app


@pytest.fixture
async def api(app: FastAPI, settings: Settings) -> AsyncIterator[Api]:
    async with Api.in_process(app, settings) as client:
        yield client
