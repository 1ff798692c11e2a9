"""Drive a real Callpad app in tests: its lifespan running, an HTTP client speaking as
any user (or the admin key), and a poll for outcomes that follow timers or realtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import httpx
from callpad.app import create_app
from callpad.auth import mint_user_token
from callpad.config import Settings
from callpad.testing import migrate
from farvex.testing import eventually as farvex_eventually
from fastapi import FastAPI

__all__ = ["Api", "eventually", "running_app"]

T = TypeVar("T")


@asynccontextmanager
async def running_app(settings: Settings, *, migrated: bool = False) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (workers, hub); migrates first unless `migrated`."""
    if not migrated:
        await migrate(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


# `...`: a check may be a lambda binding loop variables as defaults (`lambda seen=seen: ...`);
# it is always called with no arguments.
@overload
async def eventually(check: Callable[..., Awaitable[T | None]], *, within_s: float = 15.0) -> T: ...
@overload
async def eventually(check: Callable[..., T | None], *, within_s: float = 15.0) -> T: ...
async def eventually(check: Callable[[], Any], *, within_s: float = 15.0) -> Any:
    """Poll `check()` (sync or async) until it is truthy, and return that; fails only on a
    hang, never on speed (for outcomes that follow media, timers or realtime). The SDK's
    `farvex.testing.eventually`, with this suite's longer default wait."""
    return await farvex_eventually(check, timeout=within_s)


class Api:
    """A thin HTTP client for tests: `await api.post(7, "/vendors/acme/sessions", json=...)`."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    @classmethod
    @asynccontextmanager
    async def in_process(cls, app: FastAPI, settings: Settings) -> AsyncIterator[Api]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://callpad") as client:
            yield cls(client, settings)

    def token(self, user_id: int, ttl_s: int | None = None) -> str:
        return mint_user_token(self.settings, user_id, ttl_s)

    def auth(self, user_id: int | None) -> dict[str, str]:
        if user_id is None:
            return {"Authorization": f"Bearer {self.settings.admin_key}"}
        return {"Authorization": f"Bearer {self.token(user_id)}"}

    async def request(
        self,
        method: str,
        user_id: int | None,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """`user_id=None` sends the admin key. Paths are under /api/v1 unless absolute."""
        url = (
            path
            if path.startswith(("/healthz", "/readyz", "/metrics", "/connection"))
            else ("/api/v1" + path)
        )
        return await self.client.request(
            method, url, headers={**self.auth(user_id), **(headers or {})}, **kwargs
        )

    async def get(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", user_id, path, **kwargs)

    async def post(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", user_id, path, **kwargs)

    async def put(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", user_id, path, **kwargs)

    async def patch(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", user_id, path, **kwargs)

    async def delete(self, user_id: int | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", user_id, path, **kwargs)

    async def create_vendor(
        self,
        slug: str,
        members: Mapping[int, str] | None = None,
        *,
        ring_timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A vendor with members (`{user_id: role}`), through the admin API."""
        body: dict[str, Any] = {"slug": slug, "name": slug.title()}
        if ring_timeout_s is not None:
            body["ring_timeout_s"] = ring_timeout_s
        created = await self.post(None, "/admin/vendors", json=body)
        created.raise_for_status()
        for user_id, role in (members or {}).items():
            put = await self.put(
                None, f"/admin/vendors/{slug}/members/{user_id}", json={"role": role}
            )
            put.raise_for_status()
        vendor: dict[str, Any] = created.json()
        return vendor
