"""The real servers the suite runs: Centrifugo and livekit-server (built by `make services`
into `.tools/bin`), and Redis (started by `make services`).

Each test that needs one asks for it through a fixture in the root `conftest.py`; the
binaries are started here on free loopback ports with a generated configuration, waited on
until ready, and stopped when the test ends. Without the binary or the service, a test
skips with a one-line reason; under `CI=true` it fails instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = [
    "CENTRIFUGO_CONFIG",
    "REPO",
    "CentrifugoServer",
    "LiveKitServer",
    "SippPeer",
    "centrifugo_config",
    "delete_redis_keys",
    "find_binary",
    "free_port",
    "redis_url",
    "require",
    "run_centrifugo",
    "run_centrifugo_nodes",
    "run_livekit",
    "run_livekit_sip",
    "run_redis",
    "run_sipp",
]

REPO = Path(__file__).resolve().parent.parent
TOOLS_BIN = REPO / ".tools" / "bin"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
# The configuration users deploy (docs/deployment.md); the suite runs exactly this file with
# only its ports, secrets and Redis address and prefix replaced.
CENTRIFUGO_CONFIG = REPO / "docs" / "centrifugo" / "config.json"


def require(available: bool, reason: str) -> None:
    """Skip the test with `reason` when something it needs is missing; fail under CI."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs it: {reason} (run `make services`)")
    pytest.skip(f"{reason} (run `make services`)")


def find_binary(name: str) -> Path | None:
    """`.tools/bin/NAME` as built by `make services`, else NAME on PATH."""
    built = TOOLS_BIN / name
    if built.exists():
        return built
    found = shutil.which(name)
    return Path(found) if found else None


# Ports for servers the tests start come from below the kernel's ephemeral range
# (32768-60999 here): a port the kernel hands out for "any free port" is soon handed out
# again, to some client's outgoing connection, before the server we start can bind it.
# 30000-30999 is left to LiveKit's SIP service for its RTP (`run_livekit_sip`).
_SERVER_PORTS = range(20_000, 30_000)
_SIP_RTP_PORTS = "30000-30999"


# Every port handed out by this process: one server's configuration names several ports
# before the server binds any of them, so a port just handed out is still free and could
# be drawn again (livekit-server once got the same port for HTTP and ICE-TCP).
_handed_out: set[int] = set()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port free right now (the server started next binds it), chosen at
    random outside the ephemeral range so that nothing else is likely to take it first,
    and never one this process handed out before."""
    if len(_handed_out) > len(_SERVER_PORTS) // 2:
        _handed_out.clear()  # a long run: the servers given the oldest ones are gone
    for _ in range(200):
        port = random.choice(_SERVER_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port in 20000-29999")


def redis_url() -> str:
    """The Redis that `make services` started, checked with a PING; skips or fails without."""
    url = os.environ.get("CALLPAD_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    host, _, port = url.removeprefix("redis://").partition(":")
    require(_redis_answers(host, int(port or 6379)), f"Redis does not answer at {url}")
    return url


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def run_redis(workdir: Path) -> Iterator[str]:
    """A Redis of the caller's own on a free loopback port, nothing saved; yields its URL.

    For servers that must not meet another test's through the shared one: livekit-servers
    on one Redis form one cluster (a room made through one may be placed on another, and
    goes when that one stops), and LiveKit's SIP services on one Redis take each other's
    calls, so SIP tests running at once in two checkouts would cross."""
    binary = find_binary("redis-server")
    require(binary is not None, "redis-server is not installed")
    assert binary is not None
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir)]
    with _process(argv, workdir / f"redis-{port}.log", lambda: _redis_answers("127.0.0.1", port)):
        yield f"redis://127.0.0.1:{port}"


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every Redis key starting with `prefix` (a test's Centrifugo streams): what a
    Redis that lost its data looks like to Centrifugo. Returns how many were deleted."""
    host, _, port = url.removeprefix("redis://").partition(":")
    cli = ["redis-cli", "-h", host, "-p", port or "6379"]
    keys = subprocess.run(
        [*cli, "--scan", "--pattern", f"{prefix}*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if keys:
        subprocess.run([*cli, "del", *keys], capture_output=True, check=True)
    return len(keys)


@contextlib.contextmanager
def _process(
    argv: list[str], log: Path, ready: str | Callable[[], bool], timeout_s: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `argv`, wait until it is ready (GET `ready` answers 200, or `ready()` is true),
    stop it (SIGTERM, then SIGKILL)."""
    is_ready = ready if callable(ready) else functools.partial(_answers_200, ready)
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not is_ready():
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} not ready within {timeout_s} s:\n{_tail(log)}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers_200(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    return False


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class CentrifugoServer:
    """A running Centrifugo: `url` is the client WebSocket endpoint, `api_url` the server
    HTTP API (as `cent` wants it, ending in `/api`)."""

    port: int
    config: dict[str, Any]
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def api_key(self) -> str:
        key: str = self.config["http_api"]["key"]
        return key

    @property
    def hmac_secret(self) -> str:
        secret: str = self.config["client"]["token"]["hmac_secret_key"]
        return secret

    def callpad_settings(self, client_url: str | None = None) -> dict[str, Any]:
        """Callpad's settings for this node: publish to its API, sign tokens with its secret,
        hand out `client_url` (default: this node's own WebSocket URL) in grants."""
        return {
            "realtime_mode": "centrifugo",
            "realtime_centrifugo_url": client_url or self.url,
            "realtime_centrifugo_api_url": self.api_url,
            "realtime_centrifugo_api_key": self.api_key,
            "realtime_hmac_secret": self.hmac_secret,
        }

    async def api(self, method: str, **params: Any) -> dict[str, Any]:
        """Call the server HTTP API (`POST /api/<method>`); returns `result`, raises on error."""
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            response = await http.post(
                f"{self.api_url}/{method}", json=params, headers={"X-API-Key": self.api_key}
            )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if "error" in body:
            raise RuntimeError(f"Centrifugo {method}: {body['error']}")
        result: dict[str, Any] = body.get("result", {})
        return result

    async def history(self, channel: str) -> list[dict[str, Any]]:
        """Every publication the channel's history holds, oldest first."""
        result = await self.api("history", channel=channel, limit=-1)
        publications: list[dict[str, Any]] = result.get("publications", [])
        return publications


def centrifugo_config(
    *, hmac_secret: str, api_key: str, redis: str | None, redis_prefix: str = "centrifugo"
) -> dict[str, Any]:
    """docs/centrifugo/config.json with this run's secrets and Redis (None: the in-memory
    engine of a single node)."""
    config: dict[str, Any] = json.loads(CENTRIFUGO_CONFIG.read_text())
    config["client"]["token"]["hmac_secret_key"] = hmac_secret
    config["http_api"]["key"] = api_key
    if redis is None:
        del config["engine"]
    else:
        config["engine"]["redis"] = {"address": redis, "prefix": redis_prefix}
    return config


@contextlib.contextmanager
def run_centrifugo(
    config: dict[str, Any], workdir: Path, port: int | None = None
) -> Iterator[CentrifugoServer]:
    """Run the real Centrifugo with `config` (its port and health check set here)."""
    binary = find_binary("centrifugo")
    require(binary is not None, "Centrifugo is not built")
    assert binary is not None
    port = port or free_port()
    config = {**config, "http_server": {**config.get("http_server", {}), "port": port}}
    config.setdefault("health", {"enabled": True})
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"centrifugo-{port}.json"
    path.write_text(json.dumps(config, indent=2))
    check = subprocess.run(
        [str(binary), "checkconfig", "-c", str(path), "--strict"],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise RuntimeError(f"Centrifugo refuses {path}: {check.stdout}{check.stderr}")
    argv = [str(binary), "-c", str(path)]
    log = workdir / f"centrifugo-{port}.log"
    with _process(argv, log, f"http://127.0.0.1:{port}/health") as process:
        yield CentrifugoServer(port, config, process)


@contextlib.contextmanager
def run_centrifugo_nodes(
    workdir: Path, redis: str | None, nodes: int = 1
) -> Iterator[list[CentrifugoServer]]:
    """`nodes` Centrifugo nodes running docs/centrifugo/config.json with fresh secrets, on
    the Redis engine under a key prefix of their own (deleted afterwards), so together
    they form one cluster; `redis=None` runs one node on the in-memory engine."""
    prefix = f"callpad-test-{uuid.uuid4().hex[:12]}"
    config = centrifugo_config(
        hmac_secret=secrets.token_hex(32),
        api_key=secrets.token_hex(16),
        redis=redis,
        redis_prefix=prefix,
    )
    try:
        with contextlib.ExitStack() as stack:
            yield [stack.enter_context(run_centrifugo(config, workdir)) for _ in range(nodes)]
    finally:
        if redis is not None:
            delete_redis_keys(redis, prefix)


@dataclass(frozen=True)
class LiveKitServer:
    """A running livekit-server: `url` for clients and for `livekit-api`."""

    port: int
    api_key: str
    api_secret: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def run_livekit(
    workdir: Path,
    *,
    api_key: str = "callpad-test",
    api_secret: str = "callpad-test-secret-of-at-least-32-characters",
    webhook_urls: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Iterator[LiveKitServer]:
    """Run the real livekit-server on loopback ports (HTTP, ICE-TCP and one muxed UDP port),
    with loopback ICE candidates so clients on this machine connect."""
    binary = find_binary("livekit-server")
    require(binary is not None, "livekit-server is not built")
    assert binary is not None
    port = free_port()
    config: dict[str, Any] = {
        "port": port,
        "bind_addresses": ["127.0.0.1"],
        "keys": {api_key: api_secret},
        "logging": {"level": "warn"},
        "rtc": {
            "tcp_port": free_port(),
            "udp_port": free_port(socket.SOCK_DGRAM),
            "node_ip": "127.0.0.1",
            "use_external_ip": False,
            "enable_loopback_candidate": True,
            # Never hand clients public STUN servers: nothing leaves this machine.
            "stun_servers": [f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"],
        },
    }
    if webhook_urls:
        config["webhook"] = {"api_key": api_key, "urls": webhook_urls}
    config.update(extra or {})
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"livekit-{port}.yaml"
    # JSON is YAML: livekit-server reads it as its YAML configuration.
    path.write_text(json.dumps(config, indent=2))
    argv = [str(binary), "--config", str(path)]
    log = workdir / f"livekit-{port}.log"
    with _process(argv, log, f"http://127.0.0.1:{port}/") as process:
        yield LiveKitServer(port, api_key, api_secret, process)


@contextlib.contextmanager
def run_livekit_sip(livekit: LiveKitServer, workdir: Path, redis: str) -> Iterator[None]:
    """Run LiveKit's SIP service for `livekit` (which must run with the same Redis), on
    loopback, until the block ends. Phone legs dial out through it."""
    binary = find_binary("livekit-sip")
    if binary is None:
        # Not `require`: the Go module proxy here refuses github.com/livekit/sip and the
        # commits it pins, so `make services` cannot build it on every machine (docs/media.md).
        pytest.skip("livekit-sip is not available on this machine (the module proxy refuses it)")
    assert binary is not None
    health = free_port()
    config = {
        "api_key": livekit.api_key,
        "api_secret": livekit.api_secret,
        "ws_url": livekit.url,
        "redis": {"address": redis.removeprefix("redis://")},
        "sip_port": free_port(socket.SOCK_DGRAM),
        "rtp_port": _SIP_RTP_PORTS,
        "listen_ip": "127.0.0.1",
        "use_external_ip": False,
        "health_port": health,
        # This machine's few cores are shared: never refuse a call for CPU.
        "max_cpu_utilization": 1.0,
        "logging": {"level": "info"},
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"livekit-sip-{health}.yaml"
    path.write_text(json.dumps(config, indent=2))
    argv = [str(binary), "--config", str(path)]
    with _process(argv, workdir / f"livekit-sip-{health}.log", f"http://127.0.0.1:{health}/"):
        yield


SIPP_SCENARIOS = REPO / "testsupport" / "sipp"


@dataclass(frozen=True)
class SippPeer:
    """A far end answering calls at `address` (`host:port`, an outbound trunk's address)."""

    address: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def run_sipp(
    scenario: str, workdir: Path, keys: Mapping[str, str] | None = None
) -> Iterator[SippPeer]:
    """Run `sipp` as the far end of phone legs: `answers` (sipp's own UAS: rings, answers,
    waits for the BYE), `busy` (rings, 486), `hangs_up` (answers, BYE two seconds later)
    or `answers_rtp` (answers with its media on the test's socket `-key rtp_port`), from
    testsupport/sipp. `keys` are the scenario's `[keyword]`s (`sipp -key`)."""
    binary = find_binary("sipp")
    require(binary is not None, "sipp is not installed (Debian's sip-tester)")
    assert binary is not None
    port = free_port(socket.SOCK_DGRAM)
    which = (
        ["-sn", "uas"]
        if scenario == "answers"
        else ["-sf", str(SIPP_SCENARIOS / f"{scenario}.xml")]
    )
    argv = [str(binary), *which, "-i", "127.0.0.1", "-p", str(port), "-nostdin", "-m", "1000"]
    for keyword, value in (keys or {}).items():
        argv += ["-key", keyword, value]
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / f"sipp-{scenario}-{port}.log").open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        time.sleep(0.3)
        if process.poll() is not None:
            raise RuntimeError(f"sipp exited with {process.returncode}")
        yield SippPeer(f"127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
