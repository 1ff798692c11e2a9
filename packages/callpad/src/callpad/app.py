"""create_app(settings): the ASGI app. Its lifespan owns the engine, media and workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .admin.endpoints import router as admin_router
from .auth import TokenVerifier
from .config import MediaMode, Settings
from .context import AppContext
from .db.engine import Database
from .db.migrate import assert_schema_current
from .dispatch.endpoints import router as dispatch_router
from .inputs import NUL_MESSAGE
from .media.base import MediaBackend
from .media.offline import OfflineMedia
from .presence.endpoints import router as presence_router
from .problems import (
    ProblemCode,
    install_problem_handlers,
    install_problem_openapi,
    problem_response,
)
from .realtime.endpoints import router as realtime_router
from .realtime.runtime import HubShortcut, running_realtime
from .recordings.endpoints import router as recordings_router
from .request_ids import RequestIds
from .sessions.endpoints import router as sessions_router
from .webhooks.endpoints import router as webhooks_router
from .workers import Workers

__all__ = ["create_app"]

logger = logging.getLogger("callpad")
DOCS_URL = "/api/v1/docs"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Callpad server. Refuses to start on a database that is not migrated."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url())
        try:
            await assert_schema_current(db)
            ctx = AppContext(
                settings=settings,
                db=db,
                verifier=TokenVerifier(settings),
                media=_media_backend(settings),
            )
            app.state.ctx = ctx
            media = ctx.media.describe()
            logger.info("callpad %s: %s", __version__, media.get("note", media))
            try:
                async with Workers(ctx).running(), running_realtime(ctx):
                    yield
            finally:
                await ctx.media.aclose()
        finally:
            await db.dispose()

    # The interactive reference's scripts and styles are served from the package
    # (fastapi-offline ships Swagger UI), so the page works with no internet access.
    app = FastAPIOffline(
        title="Callpad",
        version=__version__,
        summary="Voice sessions: invites, participants, hold, recordings, phone legs.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=DOCS_URL,
        redoc_url=None,
        static_url="/api/v1/docs/assets",
    )
    install_problem_handlers(app)
    install_problem_openapi(app)
    app.include_router(sessions_router, prefix="/api/v1")
    app.include_router(dispatch_router, prefix="/api/v1")
    app.include_router(presence_router, prefix="/api/v1")
    app.include_router(admin_router, prefix="/api/v1")
    app.include_router(realtime_router, prefix="/api/v1")
    app.include_router(webhooks_router, prefix="/api/v1")
    app.include_router(recordings_router, prefix="/api/v1")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        """Where a browser pointed at the server lands: the interactive API reference."""
        return RedirectResponse(DOCS_URL)

    @app.get("/healthz", tags=["ops"], operation_id="healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], operation_id="readyz")
    async def readyz() -> JSONResponse:
        """Readiness: the database answers; says which media backend is in use."""
        ctx: AppContext = app.state.ctx
        try:
            await assert_schema_current(ctx.db)
        except Exception as exc:
            return problem_response(503, ProblemCode.NOT_READY, str(exc))
        return JSONResponse({"status": "ready", "media": ctx.media.describe()})

    @app.get("/metrics", tags=["ops"], operation_id="metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RefuseNulInPath)
    app.add_middleware(RequestIds)  # outermost of the HTTP ones: a 413 carries its id too
    app.add_middleware(HubShortcut)  # realtime sockets skip the HTTP middleware
    return app


def _media_backend(settings: Settings) -> MediaBackend:
    if settings.media is MediaMode.OFFLINE:
        return OfflineMedia(answer_delay_s=settings.offline_answer_delay_s)
    # Imported only in this mode: livekit-api, its HTTP client and the recorder's native
    # SDK are a large part of a server's start-up.
    from .media.livekit.backend import LiveKitMedia

    return LiveKitMedia(settings)


class RefuseNulInPath:
    """Answers 422 problem+json for a path holding NUL (`%00`): no vendor, session or
    participant can be named by it, and PostgreSQL refuses it in a query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            response = problem_response(
                422,
                ProblemCode.VALIDATION_FAILED,
                f"path: {NUL_MESSAGE}",
                errors=[{"loc": ["path"], "msg": NUL_MESSAGE, "type": "value_error"}],
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Answers 413 problem+json for bodies over the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(413, ProblemCode.BODY_TOO_LARGE, self._detail())
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the endpoint's body read: the problem handlers answer it.
                    raise StarletteHTTPException(413, self._detail())
            return message

        await self.app(scope, limited_receive, send)

    def _detail(self) -> str:
        return f"The body exceeds {self.max_bytes} bytes."
