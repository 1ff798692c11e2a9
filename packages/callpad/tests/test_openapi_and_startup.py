"""The contract and the startup guard: what operators and SDK generators rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from callpad.app import create_app
from callpad.config import Settings
from callpad.db.engine import Database
from callpad.db.migrate import SCHEMA_HEAD, SchemaNotCurrent, head_revision, upgrade
from callpad.testing import fast_settings

from testsupport.api import running_app

ROOT = Path(__file__).resolve().parents[3]

SESSION_OPERATIONS = {
    "start_session",
    "list_sessions",
    "get_session",
    "rename_session",
    "accept_invite",
    "reject_invite",
    "join_session",
    "leave_session",
    "cancel_session",
    "end_session",
    "hold_session",
    "unhold_session",
    "add_participant",
    "remove_participant",
    "start_recording",
    "stop_recording",
    "send_dtmf",
    "list_my_sessions",
    "list_my_invites",
    "list_vendor_invites",
    "create_vendor",
    "get_vendor",
    "update_vendor",
    "put_member",
    "delete_member",
    "create_contact",
    "list_contacts",
    "put_team",
    "put_my_presence",
}


def operations(document: dict[str, object]) -> dict[str, dict[str, object]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {op["operationId"]: op for item in paths.values() for op in item.values()}


def test_the_committed_contract_is_the_servers() -> None:
    committed = json.loads((ROOT / "openapi" / "callpad.json").read_text())
    assert committed == create_app(Settings()).openapi()


def test_operation_ids_are_stable_and_errors_are_problems() -> None:
    document = create_app(Settings()).openapi()
    ops = operations(document)
    assert set(ops) >= SESSION_OPERATIONS
    for operation_id, operation in ops.items():
        responses = operation["responses"]
        assert isinstance(responses, dict)
        for status, response in responses.items():
            if int(status) >= 400:
                content = response["content"]
                assert list(content) == ["application/problem+json"], (operation_id, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/ProblemDetails"
                }
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "capability_missing" in schemas["ProblemCode"]["enum"]


def test_every_session_change_documents_its_headers() -> None:
    """If-Match on every change of an existing session, Idempotency-Key on every POST that
    changes one (the server reads both from the request, so OpenAPI is where clients and
    the generated SDK learn of them)."""
    document = create_app(Settings()).openapi()
    paths = document["paths"]
    assert isinstance(paths, dict)
    changes = [
        (method, path, operation)
        for path, item in paths.items()
        if path.startswith("/api/v1/vendors/{vendor}/sessions")
        for method, operation in item.items()
        if method != "get" and operation["operationId"] != "join_session"
    ]
    assert len(changes) == 14
    for method, path, operation in changes:
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        # A new session has no version yet; DTMF changes no session (it is media work).
        if operation["operationId"] not in ("start_session", "send_dtmf"):
            assert "if-match" in headers, (method, path)
        if method == "post":
            assert "idempotency-key" in headers, (method, path)


def test_the_schema_the_server_needs_is_the_head_of_the_migrations() -> None:
    # The server checks the schema without loading Alembic, against this constant.
    assert head_revision() == SCHEMA_HEAD


async def test_the_app_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'new.db'}")
    app = create_app(settings)
    with pytest.raises(SchemaNotCurrent, match="callpad db upgrade"):
        async with app.router.lifespan_context(app):
            pass


async def test_the_app_refuses_a_database_at_another_schema(tmp_path: Path) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'old.db'}")
    db = Database(settings.resolved_database_url())
    await upgrade(db)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000_older'")
    await db.dispose()
    app = create_app(settings)
    with pytest.raises(SchemaNotCurrent, match="schema 0000_older"):
        async with app.router.lifespan_context(app):
            pass


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callpad.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_on_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    env = {"CALLPAD_DATA_DIR": str(tmp_path)}
    refused = run_cli("serve", "--port", "0", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0  # one line, no traceback
    assert "callpad db upgrade" in refused.stderr
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "callpad.db").exists()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    env = {"CALLPAD_DATA_DIR": str(tmp_path)}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    missing = run_cli("admin", "set-member", "nope", "5", "agent", env=env)
    assert (missing.returncode, missing.stderr) == (1, "callpad: No vendor 'nope'.\n")
    created = run_cli("admin", "create-vendor", "acme", "--name", "Acme", env=env)
    assert json.loads(created.stdout)["slug"] == "acme"
    again = run_cli("admin", "create-vendor", "acme", "--name", "Acme", env=env)
    assert (again.returncode, again.stderr) == (1, "callpad: Vendor 'acme' already exists.\n")
    bad_user = run_cli("token", "--user", "0", env=env)
    assert bad_user.returncode == 1 and bad_user.stderr.startswith("callpad: ")


async def test_readyz_says_there_is_no_audio(tmp_path: Path) -> None:
    from testsupport.api import Api

    settings = fast_settings(f"sqlite:///{tmp_path / 'r.db'}")
    async with running_app(settings) as app, Api.in_process(app, settings) as api:
        ready = await api.get(None, "/readyz")
        assert ready.status_code == 200
        assert ready.json()["media"]["audio"] is False
        metrics = await api.get(None, "/metrics")
        assert metrics.status_code == 200
        assert "python_info" in metrics.text
        assert "callpad_sessions_started_total" in metrics.text
