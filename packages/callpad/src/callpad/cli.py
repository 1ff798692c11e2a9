"""`callpad`: serve, db upgrade, token, admin, openapi.

Every failure is one line on stderr (`callpad: ...`) and a non-zero exit: 1 for a failure,
2 for a usage error. Arguments are checked with the API's own validation (`callpad.inputs`
and the request schemas), so the CLI accepts exactly what the API accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard

from . import __version__

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .config import Settings

__all__ = ["main"]

logger = logging.getLogger("callpad")


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except CliError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        if _is_validation_error(exc):  # the settings, read from CALLPAD_* variables
            _fail(_settings_problem(exc))
        _fail(f"unexpected {type(exc).__name__}: {exc}")  # a bug: still one line


# pydantic (and the settings, built on it) are imported by the commands that use them, not
# at start-up: `callpad --help` and usage errors answer without loading them.
def _is_validation_error(exc: Exception) -> TypeGuard[ValidationError]:
    pydantic_core = sys.modules.get("pydantic_core")
    return pydantic_core is not None and isinstance(exc, pydantic_core.ValidationError)


class CliError(Exception):
    """A failure worth one line, not a traceback."""


def _fail(message: str, status: int = 1) -> NoReturn:
    print(f"callpad: {_one_line(message)}", file=sys.stderr)
    raise SystemExit(status)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line too, naming the command's --help."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see `{self.prog} --help`)", status=2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="callpad", description="The Callpad voice server.")
    parser.add_argument("--version", action="version", version=f"callpad {__version__}")
    parser.set_defaults(run=_help(parser))
    commands = parser.add_subparsers(title="commands", parser_class=_Parser)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8080,
        help="port to listen on, 0 for any free one (default 8080)",
    )
    serve.set_defaults(run=_serve)

    db_parser = commands.add_parser("db", help="database schema")
    db_parser.set_defaults(run=_help(db_parser))
    db = db_parser.add_subparsers(title="db commands", parser_class=_Parser)
    db.add_parser("upgrade", help="apply every migration").set_defaults(run=_db_upgrade)

    token = commands.add_parser("token", help="mint a dev user token with the configured secret")
    token.add_argument("--user", type=int, required=True, help="the user id (sub)")
    token.add_argument(
        "--ttl", type=int, default=None, help="seconds until it expires (default a day)"
    )
    token.set_defaults(run=_token)

    admin_parser = commands.add_parser("admin", help="vendors and members")
    admin_parser.set_defaults(run=_help(admin_parser))
    admin = admin_parser.add_subparsers(title="admin commands", parser_class=_Parser)
    create = admin.add_parser("create-vendor", help="create a vendor")
    create.add_argument("slug", help="lowercase letters, digits and dashes")
    create.add_argument("--name", required=True, help="the display name")
    create.add_argument(
        "--ring-timeout", type=float, default=None, help="seconds an invite rings (max 600)"
    )
    create.add_argument(
        "--end-sessions-with-room",
        choices=["yes", "no", "default"],
        default="default",
        help="whether a session ends when its media room finishes "
        "(default: CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM)",
    )
    create.set_defaults(run=_create_vendor)
    update = admin.add_parser("update-vendor", help="change a vendor's settings")
    update.add_argument("slug")
    update.add_argument("--name", help="the display name")
    update.add_argument("--ring-timeout", type=float, help="seconds an invite rings (max 600)")
    update.add_argument(
        "--end-sessions-with-room",
        choices=["yes", "no", "default"],
        help="whether a session ends when its media room finishes "
        "(default: back to CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM)",
    )
    update.set_defaults(run=_update_vendor)
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


def _help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], None]:
    """A command group run without a command: its own help, as a usage error."""

    def run(_args: argparse.Namespace) -> None:
        parser.print_help(sys.stderr)
        raise SystemExit(2)

    return run


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 to 65535")
    return port


# -- serve ------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> None:
    settings = _settings()
    _ensure_data_dir(settings)
    _check_database_reachable(settings)
    if settings.media == "livekit":
        _check_livekit(settings)
    sock = _listen(args.host, args.port)
    with sock:
        bound = _base_url(args.host, sock.getsockname()[1])
        settings = _with_public_url(settings, bound)
        asyncio.run(_run_server(settings, sock, bound))


async def _run_server(settings: Settings, sock: socket.socket, bound: str) -> None:
    from .app import create_app
    from .realtime.runtime import hub_websocket_protocol
    from .serving import serve

    app = create_app(settings)
    # The lifespan runs here rather than under uvicorn, so a failing start (database,
    # media, realtime) is one line before anything claims the server is up.
    lifespan = app.router.lifespan_context(app)
    try:
        await lifespan.__aenter__()
    except Exception as exc:
        raise CliError(f"cannot start: {_describe(exc, settings)}") from None
    # Everything loaded so far (modules, the app, its routes and schemas) lives as long as
    # the process: out of the collector's sight, a full collection no longer walks it
    # (each one paused every request for 100+ ms on a loaded machine: the p99 of rings).
    gc.freeze()
    # CPython holds a full collection back until the objects awaiting one exceed a quarter
    # of the long-lived ones; with those frozen, that check no longer holds it back, and
    # every tenth generation-1 collection was a full one (13 per 100 team calls of 200
    # agents: their p99). One in a hundred spaces them as before the freeze.
    gc.set_threshold(700, 10, 100)
    try:
        # From the banner on, Ctrl-C or SIGTERM stops the server gracefully.
        await serve(
            app,
            sock,
            websocket_protocol=hub_websocket_protocol(app),
            shutdown_timeout_s=settings.shutdown_timeout_s,
            on_listening=lambda: print(_banner(settings, bound), flush=True),
        )
    finally:
        await lifespan.__aexit__(None, None, None)


def _check_livekit(settings: Settings) -> None:
    """Refuse to serve with LiveKit media when the LiveKit server does not answer."""
    from .media.livekit.backend import LiveKitMedia, LiveKitUnavailable, missing_recorder_packages

    if missing := missing_recorder_packages(settings):
        raise CliError(missing)

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


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts: a busy port or an address this
    machine does not have is one line, not a server that seemed to start."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _base_url(host: str, port: int) -> str:
    """The URL clients on this machine reach the bound socket at."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:  # 0.0.0.0 or ::, every interface: loopback is one of them
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


def _with_public_url(settings: Settings, bound: str) -> Settings:
    """Realtime grants name `CALLPAD_PUBLIC_URL`; unset, the address the server is bound to."""
    if "public_url" not in settings.model_fields_set:
        return settings.model_copy(update={"public_url": bound})
    from urllib.parse import urlsplit

    public, local = urlsplit(settings.public_url), urlsplit(bound)
    public_port = public.port or (443 if public.scheme == "https" else 80)
    if public.hostname in {"127.0.0.1", "localhost", "::1", local.hostname} and (
        public_port != local.port
    ):
        print(
            f"callpad: warning: CALLPAD_PUBLIC_URL is {settings.public_url} but the server "
            f"listens on {bound}; realtime grants send clients to the former",
            file=sys.stderr,
            flush=True,
        )
    return settings


def _banner(settings: Settings, bound: str) -> str:
    from .realtime.endpoints import hub_url

    # Where grants send clients: this server's hub, or Centrifugo (its URL, not ours).
    hub = "Centrifugo" if settings.realtime_mode == "centrifugo" else "the embedded hub"
    realtime = f"{hub}; grants send clients to {hub_url(settings)}"
    media = settings.media.value
    if settings.media == "offline":
        media += " (no audio: phone legs and recordings are simulated)"
    else:
        media += f" at {settings.livekit_url}"
    return (
        f"Callpad on {bound} (API {bound}/api/v1, docs {bound}/api/v1/docs)\n"
        f"  database: {_shown_url(settings.resolved_database_url())}\n"
        f"  media: {media}\n"
        f"  realtime: {realtime}\n"
        f"  a dev token for user 7:  {_command()} token --user 7\n"
        "  (the dev secret is in use unless CALLPAD_AUTH_SECRET is set: set it in production)"
    )


def _command() -> str:
    """How to run this same `callpad` from a shell in the current directory: the venv's
    script, relative when it is under the current directory (`make run` is not on PATH)."""
    script = Path(sys.executable).parent / "callpad"
    if not script.exists():
        return f"{sys.executable} -m callpad.cli"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


# -- db, token, admin, openapi ----------------------------------------------------------


def _db_upgrade(_args: argparse.Namespace) -> None:
    from .db.migrate import head_revision, upgrade

    settings = _settings()
    _ensure_data_dir(settings)
    _check_database_reachable(settings)
    _run(upgrade, settings)
    print(f"database at schema {head_revision()}: {_shown_url(settings.resolved_database_url())}")


def _token(args: argparse.Namespace) -> None:
    from .auth import mint_user_token
    from .inputs import TokenTtl, UserId

    user = _checked(UserId, args.user, "--user")
    ttl = None if args.ttl is None else _checked(TokenTtl, args.ttl, "--ttl")
    try:
        print(mint_user_token(_settings(), user, ttl))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _create_vendor(args: argparse.Namespace) -> None:
    from .admin import service
    from .admin.schemas import VendorCreate

    body = _checked(
        VendorCreate,
        {
            "slug": args.slug,
            "name": args.name,
            "ring_timeout_s": args.ring_timeout,
            "end_sessions_with_room": _ROOM_END[args.end_sessions_with_room],
        },
        options={"slug": "SLUG", "name": "--name", "ring_timeout_s": "--ring-timeout"},
    )
    settings = _settings()
    ring_timeout = body.ring_timeout_s or settings.default_ring_timeout_s
    view = _run_write(
        lambda conn, now: service.create_vendor(
            conn, body.slug, body.name, ring_timeout, now, body.end_sessions_with_room
        ),
        settings,
    )
    print(json.dumps(view.model_dump(mode="json")))


_ROOM_END = {"yes": True, "no": False, "default": None}


def _update_vendor(args: argparse.Namespace) -> None:
    from .admin import service
    from .admin.schemas import VendorUpdate

    given: dict[str, Any] = {}
    if args.name is not None:
        given["name"] = args.name
    if args.ring_timeout is not None:
        given["ring_timeout_s"] = args.ring_timeout
    if args.end_sessions_with_room is not None:
        given["end_sessions_with_room"] = _ROOM_END[args.end_sessions_with_room]
    if not given:
        raise CliError(
            "update-vendor: nothing to change (--name, --ring-timeout or --end-sessions-with-room)"
        )
    body = _checked(
        VendorUpdate, given, options={"name": "--name", "ring_timeout_s": "--ring-timeout"}
    )
    view = _run_write(lambda conn, _now: service.update_vendor(conn, args.slug, body))
    print(json.dumps(view.model_dump(mode="json")))


def _set_member(args: argparse.Namespace) -> None:
    from .admin import service
    from .inputs import UserId

    user = _checked(UserId, args.user, "USER")
    _run_write(lambda conn, now: service.set_member(conn, args.vendor, user, args.role, now))
    print(f"user {user} is {args.role} of {args.vendor}")


def _remove_member(args: argparse.Namespace) -> None:
    from .admin import service
    from .inputs import UserId

    user = _checked(UserId, args.user, "USER")
    _run_write(lambda conn, now: service.remove_member(conn, args.vendor, user, now))
    print(f"user {user} is no longer a member of {args.vendor}")


def _openapi(args: argparse.Namespace) -> None:
    from .app import create_app

    document = json.dumps(create_app(_settings()).openapi(), indent=2, sort_keys=True) + "\n"
    try:
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
    except OSError as exc:
        raise CliError(f"{exc.filename}: {exc.strerror}") from None


# -- helpers ----------------------------------------------------------------------------


def _settings() -> Settings:
    from pydantic import ValidationError

    from .config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise CliError(_settings_problem(exc)) from None


def _settings_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    name = "CALLPAD_" + "_".join(str(part) for part in error["loc"]).upper()
    return f"{name}: {str(error['msg']).removeprefix('Value error, ')}"


def _checked(kind: Any, value: Any, option: str = "", options: dict[str, str] | None = None) -> Any:
    """`value` validated as the API validates it; a refusal names the CLI option."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        name = (options or {}).get(field, option or field)
        shown = error.get("input", value)
        raise CliError(f"{name} {shown!r}: {error['msg']}") from None


def _ensure_data_dir(settings: Settings) -> None:
    if settings.database_url is None:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(
                f"CALLPAD_DATA_DIR {str(settings.data_dir)!r} cannot be a folder: {exc.strerror}"
            ) from None


def _sqlite_path(settings: Settings) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url())
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _check_database_reachable(settings: Settings) -> None:
    """A SQLite file's folder must exist (SQLite creates the file, not the folder)."""
    path = _sqlite_path(settings)
    if path is not None and not path.parent.is_dir():
        raise CliError(
            f"no folder {str(path.parent)!r} for the SQLite database "
            f"{_shown_url(settings.resolved_database_url())}: create it or change "
            f"{'CALLPAD_DATABASE_URL' if settings.database_url else 'CALLPAD_DATA_DIR'}"
        )


def _check_database_exists(settings: Settings) -> None:
    """Commands other than `db upgrade` use an existing database; they never create one."""
    path = _sqlite_path(settings)
    if path is not None and not path.exists():
        raise CliError(
            f"no database at {str(path)!r}: run `callpad db upgrade` first "
            "(or set CALLPAD_DATA_DIR / CALLPAD_DATABASE_URL)"
        )


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _describe(exc: BaseException, settings: Settings) -> str:
    """One line for what stopped a command: a database that cannot be used says which."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from .db.migrate import SchemaNotCurrent

    if isinstance(exc, SchemaNotCurrent):
        return str(exc)
    if isinstance(exc, SQLAlchemyError | OSError) or type(exc).__module__.startswith("asyncpg"):
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        text = str(reason).splitlines()[0] if str(reason).strip() else type(reason).__name__
        return f"cannot use the database {_shown_url(settings.resolved_database_url())}: {text}"
    return f"{type(exc).__name__}: {exc}"


def _run(step: Callable[[Any], Awaitable[Any]], settings: Settings) -> Any:
    from .db.engine import Database

    async def run() -> Any:
        db = Database(settings.resolved_database_url())
        try:
            return await step(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except CliError:
        raise
    except Exception as exc:
        from .problems import Problem

        if isinstance(exc, Problem):
            raise CliError(exc.detail) from None
        raise CliError(_describe(exc, settings)) from None


def _run_write(step: Callable[[Any, Any], Awaitable[Any]], settings: Settings | None = None) -> Any:
    from .clock import utcnow
    from .db.migrate import assert_schema_current

    settings = settings or _settings()
    _check_database_exists(settings)

    async def write(db: Any) -> Any:
        await assert_schema_current(db)
        async with db.write() as conn:
            return await step(conn, utcnow())

    return _run(write, settings)


if __name__ == "__main__":
    main()
