"""`callpad`: serve, db upgrade, token, admin, openapi. Errors are one line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .config import Settings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        raise SystemExit(2)
    try:
        args.run(args)
    except CliError as exc:
        print(f"callpad: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


class CliError(Exception):
    """A failure worth one line, not a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callpad", description="The Callpad voice server.")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="apply every migration").set_defaults(run=_db_upgrade)

    token = commands.add_parser("token", help="mint a dev user token with the configured secret")
    token.add_argument("--user", type=int, required=True, help="the user id (sub)")
    token.add_argument("--ttl", type=int, default=None, help="seconds until it expires")
    token.set_defaults(run=_token)

    admin = commands.add_parser("admin", help="vendors and members").add_subparsers(
        title="admin commands"
    )
    create = admin.add_parser("create-vendor", help="create a vendor")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--ring-timeout", type=float, default=None, help="seconds")
    create.set_defaults(run=_create_vendor)
    member = admin.add_parser("set-member", help="add a member or change their role")
    member.add_argument("vendor")
    member.add_argument("user", type=int)
    member.add_argument("role", choices=["owner", "admin", "agent"])
    member.set_defaults(run=_set_member)
    remove = admin.add_parser("remove-member", help="remove a member")
    remove.add_argument("vendor")
    remove.add_argument("user", type=int)
    remove.set_defaults(run=_remove_member)

    openapi = commands.add_parser("openapi", help="print, write or check the OpenAPI document")
    where = openapi.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, help="write it to this file")
    where.add_argument("--check", type=Path, help="fail if this file differs from the server's")
    openapi.set_defaults(run=_openapi)
    return parser


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from .app import create_app
    from .db.migrate import SchemaNotCurrent, assert_schema_current
    from .realtime.server import HubWebSocketProtocol

    settings = Settings()
    _ensure_data_dir(settings)
    try:
        _run(lambda db: assert_schema_current(db), settings)
    except SchemaNotCurrent as exc:
        raise CliError(str(exc)) from None
    if settings.media == "livekit":
        _check_livekit(settings)
    print(
        f"Callpad on http://{args.host}:{args.port} (API /api/v1, docs /api/v1/docs)\n"
        f"  database: {settings.resolved_database_url()}\n"
        f"  media: {settings.media.value}"
        + (
            " (no audio: phone legs and recordings are simulated)"
            if settings.media == "offline"
            else f" at {settings.livekit_url}"
        )
        + "\n  a dev token for user 7:  callpad token --user 7"
        + "\n  (make run uses the dev secret; set CALLPAD_AUTH_SECRET in production)",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        # Centrifugo clients: accept an empty subprotocol header; no compression, as
        # Centrifugo's default (it costs memory per connection).
        ws=HubWebSocketProtocol,
        ws_per_message_deflate=False,
    )


def _check_livekit(settings: Settings) -> None:
    """Refuse to serve with LiveKit media when the LiveKit server does not answer."""
    from .media.livekit import LiveKitMedia, LiveKitUnavailable

    async def check() -> None:
        media = LiveKitMedia(settings)
        try:
            await media.check()
        finally:
            await media.aclose()

    try:
        asyncio.run(check())
    except LiveKitUnavailable as exc:
        raise CliError(f"{exc} (start it, or set CALLPAD_MEDIA=offline)") from None


def _db_upgrade(_args: argparse.Namespace) -> None:
    from .db.migrate import head_revision, upgrade

    settings = Settings()
    _ensure_data_dir(settings)
    _run(upgrade, settings)
    print(f"database at schema {head_revision()}: {settings.resolved_database_url()}")


def _token(args: argparse.Namespace) -> None:
    from .auth import mint_user_token

    if args.user <= 0:
        raise CliError("--user must be a positive user id")
    try:
        print(mint_user_token(Settings(), args.user, args.ttl))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _create_vendor(args: argparse.Namespace) -> None:
    from .admin import service

    settings = Settings()
    ring_timeout = args.ring_timeout or settings.default_ring_timeout_s
    view = _run_write(
        lambda conn, now: service.create_vendor(conn, args.slug, args.name, ring_timeout, now),
        settings,
    )
    print(json.dumps(view.model_dump(mode="json")))


def _set_member(args: argparse.Namespace) -> None:
    from .admin import service

    _run_write(lambda conn, now: service.set_member(conn, args.vendor, args.user, args.role, now))
    print(f"user {args.user} is {args.role} of {args.vendor}")


def _remove_member(args: argparse.Namespace) -> None:
    from .admin import service

    _run_write(lambda conn, _now: service.remove_member(conn, args.vendor, args.user))
    print(f"user {args.user} is no longer a member of {args.vendor}")


def _openapi(args: argparse.Namespace) -> None:
    from .app import create_app

    document = json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"
    if args.check:
        committed = args.check.read_text() if args.check.exists() else ""
        if committed != document:
            raise CliError(
                f"{args.check} differs from the server's OpenAPI document: run `make openapi`"
            )
        print(f"{args.check} matches the server")
    elif args.output:
        args.output.write_text(document)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(document)


# -- helpers ----------------------------------------------------------------------------


def _ensure_data_dir(settings: Settings) -> None:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


def _run(step: Callable[[Any], Awaitable[Any]], settings: Settings | None = None) -> Any:
    from .db.engine import Database

    async def run() -> Any:
        db = Database((settings or Settings()).resolved_database_url())
        try:
            return await step(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _run_write(step: Callable[[Any, Any], Awaitable[Any]], settings: Settings | None = None) -> Any:
    from .context import utcnow
    from .db.migrate import SchemaNotCurrent, assert_schema_current
    from .problems import Problem

    async def write(db: Any) -> Any:
        await assert_schema_current(db)
        async with db.write() as conn:
            return await step(conn, utcnow())

    try:
        return _run(write, settings)
    except (Problem, SchemaNotCurrent) as exc:
        raise CliError(getattr(exc, "detail", str(exc))) from None


if __name__ == "__main__":
    main()
