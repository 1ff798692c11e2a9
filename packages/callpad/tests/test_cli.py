"""The `callpad` command: every failure is one line on stderr and a non-zero exit, never a
traceback, and it accepts exactly what the API accepts (it validates with the same types).

Most cases run `callpad.cli.main()` in this process (what the `callpad` script calls);
`serve` runs the installed `callpad` script in a subprocess, as a user runs it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from callpad import __version__
from callpad.auth import mint_user_token
from callpad.cli import main
from callpad.config import DEV_AUTH_SECRET, Settings

from testsupport.servers import free_port

CALLPAD = Path(sys.executable).parent / "callpad"
# A whole server process starts: on a loaded machine that takes more than the default.
SERVES = pytest.mark.timeout(360)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory with no ./data, and no CALLPAD_* settings from outside."""
    for name in list(os.environ):
        if name.startswith("CALLPAD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`callpad args...` through main(): (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, *fragments: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("callpad: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def migrated(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _out, err = run(capsys, "db", "upgrade")
    assert code == 0, err
    return workdir


# -- tracebacks that are now one line ---------------------------------------------------


def test_admin_before_the_database_exists(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "admin", "create-vendor", "acme", "--name", "Acme")
    assert (code, out) == (1, "")
    assert_one_line(err, "no database at", "callpad db upgrade")
    assert not (workdir / "data").exists()  # it created nothing


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        (
            {"CALLPAD_DATABASE_URL": "sqlite:///{tmp}/missing/callpad.db"},
            ["no folder", "missing", "CALLPAD_DATABASE_URL"],
        ),
        (
            {"CALLPAD_DATABASE_URL": "postgresql://postgres@127.0.0.1:{closed}/callpad"},
            ["cannot use the database", "127.0.0.1"],
        ),
        (
            {"CALLPAD_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/{missing_db}"},
            ["cannot use the database", "callpad_missing_"],
        ),
        ({"CALLPAD_DATABASE_URL": "mysql://root@localhost/callpad"}, ["CALLPAD_DATABASE_URL"]),
        ({"CALLPAD_MEDIA": "bogus"}, ["CALLPAD_MEDIA", "offline", "livekit"]),
        ({"CALLPAD_DATA_DIR": "{tmp}/a-file"}, ["CALLPAD_DATA_DIR", "a-file"]),
    ],
    ids=["sqlite-folder-missing", "postgres-unreachable", "postgres-database-missing",
         "mysql", "media-bogus", "data-dir-is-a-file"],
)  # fmt: skip
def test_a_database_or_setting_that_cannot_work_is_one_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    fragments: list[str],
) -> None:
    (workdir / "a-file").write_text("not a folder")
    values = {"tmp": str(workdir), "closed": free_port(), "missing_db": missing_database()}
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**values))
    code, out, err = run(capsys, "db", "upgrade")
    assert (code, out) == (1, "")
    assert_one_line(err, *fragments)


def missing_database() -> str:
    return f"callpad_missing_{uuid.uuid4().hex[:12]}"


def test_openapi_into_a_missing_folder(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "openapi", "--output", "nowhere/callpad.json")
    assert code == 1
    assert_one_line(err, "nowhere/callpad.json", "No such file or directory")


# -- invalid arguments the API would refuse ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["admin", "create-vendor", "Bad Slug!", "--name", "X"], ["SLUG", "Bad Slug!"]),
        (["admin", "create-vendor", "", "--name", "X"], ["SLUG"]),
        (["admin", "create-vendor", "../bad slug", "--name", "X"], ["SLUG"]),
        (["admin", "create-vendor", "ok", "--name", ""], ["--name"]),
        (["admin", "create-vendor", "ok", "--name", "X", "--ring-timeout=-5"], ["--ring-timeout"]),
        (["admin", "create-vendor", "ok", "--name", "X", "--ring-timeout=0"], ["--ring-timeout"]),
        (["admin", "create-vendor", "ok", "--name", "X", "--ring-timeout=100000"], ["600"]),
        (["admin", "create-vendor", "ok", "--name", "X", "--ring-timeout=1e300"], ["600"]),
        (["admin", "update-vendor", "ok", "--ring-timeout=0"], ["--ring-timeout"]),
        (["admin", "update-vendor", "ok", "--name", ""], ["--name"]),
        (["admin", "update-vendor", "ok"], ["nothing to change"]),
        (["admin", "update-vendor", "nobody", "--name", "X"], ["nobody"]),
        (["admin", "set-member", "acme", "-1", "agent"], ["USER", "-1"]),
        (["admin", "set-member", "acme", str(2**63), "agent"], ["USER", str(2**63 - 1)]),
        (["admin", "remove-member", "acme", "0"], ["USER"]),
        (["token", "--user", "7", "--ttl", "0"], ["--ttl"]),
        (["token", "--user", "7", "--ttl=-5"], ["--ttl"]),
        (["token", "--user", str(2**63)], ["--user"]),
        (["token", "--user", "0"], ["--user"]),
    ],
)
def test_what_the_api_refuses_the_cli_refuses(
    migrated: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragments: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    assert_one_line(err, *fragments)
    code, out, _err = run(capsys, "admin", "set-member", "ok", "5", "agent")
    assert code == 1, "no vendor was created by the refused command"


def test_valid_commands_still_work(migrated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "admin", "create-vendor", "acme", "--name", "Acme", "--ring-timeout", "600"
    )
    assert code == 0, err
    assert json.loads(out)["ring_timeout_s"] == 600
    code, out, err = run(capsys, "admin", "set-member", "acme", str(2**63 - 1), "agent")
    assert (code, out.strip()) == (0, f"user {2**63 - 1} is agent of acme"), err
    code, out, err = run(capsys, "token", "--user", "7", "--ttl", "1")
    assert code == 0 and out.count(".") == 2, err


def test_a_vendor_chooses_whether_its_sessions_end_with_their_room(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "admin", "create-vendor", "acme", "--name", "Acme")
    assert code == 0, err
    assert json.loads(out)["end_sessions_with_room"] is None  # the deployment's default
    code, out, err = run(capsys, "admin", "update-vendor", "acme", "--end-sessions-with-room", "no")
    assert code == 0, err
    assert json.loads(out)["end_sessions_with_room"] is False
    assert json.loads(out)["name"] == "Acme"  # what was not named stays
    code, out, err = run(
        capsys, "admin", "update-vendor", "acme", "--end-sessions-with-room", "default"
    )
    assert (code, json.loads(out)["end_sessions_with_room"]) == (0, None), err
    code, out, err = run(
        capsys, "admin", "create-vendor", "beta", "--name", "B", "--end-sessions-with-room", "yes"
    )
    assert (code, json.loads(out)["end_sessions_with_room"]) == (0, True), err


# -- usage ------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"callpad {__version__}\n", "")


@pytest.mark.parametrize(
    ("group", "commands"),
    [("db", ["upgrade"]), ("admin", ["create-vendor", "set-member", "remove-member"])],
)
def test_a_group_without_a_command_prints_its_own_help(
    capsys: pytest.CaptureFixture[str], group: str, commands: list[str]
) -> None:
    code, out, err = run(capsys, group)
    assert (code, out) == (2, "")
    assert err.startswith(f"usage: callpad {group} ")
    for command in commands:
        assert command in err
    assert "serve" not in err  # not the top-level help


def test_serve_help_explains_host_and_port(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "serve", "--help")
    assert code == 0
    assert "address to listen on" in out
    assert "port to listen on" in out


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_that_is_not_one(
    workdir: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    code, out, err = run(capsys, "serve", "--port", port)
    assert (code, out) == (2, "")
    assert_one_line(err, "--port", "callpad serve --help")


# -- serve, as a user runs it -----------------------------------------------------------


def callpad(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")}
    return subprocess.Popen(
        [str(CALLPAD), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.fixture
def served(migrated: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`callpad serve --port 0` with CALLPAD_PUBLIC_URL unset; its base URL from the banner."""
    process = callpad("serve", "--port", "0", cwd=migrated)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Callpad on http://127.0.0.1:"), first + finished(process)[2]
        yield process, first.split()[2]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


@contextlib.contextmanager
def busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line_and_no_banner(migrated: Path) -> None:
    with busy_port() as port:
        code, out, err = finished(callpad("serve", "--port", str(port), cwd=migrated))
    assert (code, out) == (1, "")
    assert_one_line(err, f"cannot listen on 127.0.0.1:{port}", "in use")


def test_serve_on_an_address_this_machine_lacks_is_one_line(migrated: Path) -> None:
    code, out, err = finished(callpad("serve", "--host", "256.0.0.1", cwd=migrated))
    assert (code, out) == (1, "")
    assert_one_line(err, "cannot listen on 256.0.0.1:8080")


@SERVES
def test_serve_grants_realtime_on_the_port_it_is_bound_to(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, base = served
    assert base != "http://127.0.0.1:8080"
    token = mint_user_token(Settings(auth_secret=DEV_AUTH_SECRET), 7)
    grant = httpx.get(f"{base}/api/v1/realtime/grant", headers={"Authorization": f"Bearer {token}"})
    assert grant.status_code == 200, grant.text
    assert grant.json()["url"] == base.replace("http://", "ws://") + "/connection/websocket"
    # The Date header is built per response, not by a ticker: present and current.
    sent_at = parsedate_to_datetime(grant.headers["date"]).timestamp()
    assert abs(sent_at - time.time()) < 60
    process.send_signal(signal.SIGTERM)
    code, _out, err = finished(process)
    assert code == 0
    assert "Traceback" not in err


@SERVES
def test_serve_banner_prints_a_token_command_that_works(migrated: Path) -> None:
    process = callpad("serve", "--port", "0", cwd=migrated)
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(6)]
    process.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly too
    code, _out, err = finished(process)
    assert code == 0, err
    assert "Traceback" not in err
    line = next(line for line in banner if "token --user 7" in line)
    command = line.split(":", 1)[1].split()
    assert command[-3:] == ["token", "--user", "7"]
    minted = subprocess.run(command, cwd=migrated, capture_output=True, text=True, check=False)
    assert minted.returncode == 0, minted.stderr
    assert minted.stdout.count(".") == 2


@SERVES
@pytest.mark.parametrize("mode", ["embedded", "centrifugo"])
def test_serve_banner_says_where_realtime_grants_send_clients(migrated: Path, mode: str) -> None:
    port, centrifugo = free_port(), "ws://centrifugo.example:8000/connection/websocket"
    env = {"CALLPAD_REALTIME_MODE": mode, "CALLPAD_REALTIME_CENTRIFUGO_URL": centrifugo}
    process = callpad("serve", "--port", str(port), cwd=migrated, env=env)
    assert process.stdout is not None
    banner = [process.stdout.readline() for _ in range(6)]
    process.send_signal(signal.SIGTERM)
    code, _out, err = finished(process)
    assert code == 0, err
    realtime = next(line for line in banner if line.strip().startswith("realtime:"))
    expected = {
        "embedded": f"the embedded hub; grants send clients to ws://127.0.0.1:{port}/connection/websocket",
        "centrifugo": f"Centrifugo; grants send clients to {centrifugo}",
    }
    assert realtime.split(":", 1)[1].strip() == expected[mode]


@SERVES
def test_serve_stops_on_sigterm_though_a_request_never_finishes(migrated: Path) -> None:
    """A client that sends half a request body holds its request open forever: after
    SIGTERM the server waits CALLPAD_SHUTDOWN_TIMEOUT_S for it, then cancels it and exits."""
    process = callpad("serve", "--port", "0", cwd=migrated, env={"CALLPAD_SHUTDOWN_TIMEOUT_S": "1"})
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("Callpad on http://127.0.0.1:"), first + finished(process)[2]
    port = int(first.split()[2].rsplit(":", 1)[1])
    token = mint_user_token(Settings(auth_secret=DEV_AUTH_SECRET), 7)
    with socket.create_connection(("127.0.0.1", port)) as stuck:
        stuck.sendall(
            b"POST /api/v1/vendors/acme/sessions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")  # the request has begun
        assert health.status_code == 200
        process.send_signal(signal.SIGTERM)
        code, _out, err = finished(process)
    assert code == 0, err
    assert "Traceback" not in err, err


@SERVES
def test_serve_warns_when_the_public_url_names_another_port(migrated: Path) -> None:
    port = free_port()
    process = callpad(
        "serve",
        "--port",
        str(port),
        cwd=migrated,
        env={"CALLPAD_PUBLIC_URL": "http://127.0.0.1:8080"},
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(f"Callpad on http://127.0.0.1:{port}")
    process.send_signal(signal.SIGTERM)
    _code, _out, err = finished(process)
    warnings = [line for line in err.splitlines() if line.startswith("callpad: warning:")]
    assert len(warnings) == 1
    assert "http://127.0.0.1:8080" in warnings[0]
    assert f"http://127.0.0.1:{port}" in warnings[0]


def test_make_run_takes_a_port() -> None:
    root = Path(__file__).resolve().parents[3]
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=9123", "HOST=0.0.0.0"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "callpad serve --host 0.0.0.0 --port 9123" in dry.stdout


async def test_offline_media_is_not_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The offline backend is the default, not a problem: its startup note is INFO."""
    from callpad.testing import fast_settings

    from testsupport.api import running_app

    with caplog.at_level(logging.INFO, logger="callpad"):
        async with running_app(fast_settings(f"sqlite:///{tmp_path / 'c.db'}")):
            pass
    notes = [r for r in caplog.records if "no audio" in r.getMessage()]
    assert [r.levelno for r in notes] == [logging.INFO]
