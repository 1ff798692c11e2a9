"""`make docs-check`: run the README's quick start, as written, against a fresh server.

The first `sh` block of the "Quick start" section starts the server: its `make run` is
run as is (with a free PORT and a temporary CALLPAD_DATA_DIR, so the database is new);
`make test` is the whole suite, which `make test` and CI run, so it is not repeated here.
Every line of the following `sh` blocks then runs in one bash, with the README's
127.0.0.1:8080 pointed at that server; each `curl` must answer 2xx. Every
http://127.0.0.1:8080 link of the section must answer too. So the README cannot drift
from what the server does.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_ADDRESS = "127.0.0.1:8080"
SERVER_COMMANDS = {"make run"}
NOT_REPEATED = {"make test"}  # the whole suite: CI runs it beside this check
# Every curl must succeed: a 4xx or 5xx fails the check, with the body shown.
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error --max-time 30 "$@"; echo; }
"""


def main() -> int:
    section = quick_start(ROOT.joinpath("README.md").read_text())
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    if len(blocks) < 2:
        return fail("the README's quick start has no server block and example block")
    server_lines = commands(blocks[0])
    unknown = [line for line in server_lines if line not in SERVER_COMMANDS | NOT_REPEATED]
    if unknown:
        return fail(f"quick start commands this check does not know how to run: {unknown}")
    port = free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT,
            env={**without_callpad_settings(), "CALLPAD_DATA_DIR": data},
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            if not answers(f"http://{address}/healthz", server):
                output = stop(server)
                return fail(f"`make run PORT={port}` did not start:\n{output}")
            script = PRELUDE + "\n".join(blocks[1:]).replace(README_ADDRESS, address)
            ran = subprocess.run(
                ["bash", "-c", script],
                cwd=ROOT,
                env=without_callpad_settings(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if ran.returncode != 0:
                return fail(f"the quick start failed:\n{ran.stdout}{ran.stderr}")
            for link in links(section):
                url = link.replace(README_ADDRESS, address)
                if not answers(url, server, attempts=1):
                    return fail(f"the quick start links to {link}, which does not answer")
        finally:
            stop(server)
    print(f"README quick start: {count_curls(blocks)} curl commands and its links work")
    return 0


def quick_start(readme: str) -> str:
    found = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    return found[1] if found else ""


def links(section: str) -> list[str]:
    """The section's links to the local server, as `<url>` or `[text](url)`."""
    local = re.escape(f"http://{README_ADDRESS}")
    return sorted(set(re.findall(rf"[<(]({local}[^>)\s]*)[>)]", section)))


def commands(block: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def count_curls(blocks: list[str]) -> int:
    return sum(len(re.findall(r"^\s*curl ", block, flags=re.M)) for block in blocks[1:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def without_callpad_settings() -> dict[str, str]:
    """The server and the commands see the README's defaults, not this shell's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CALLPAD_")}


def answers(url: str, server: subprocess.Popen[str], attempts: int = 600) -> bool:
    for _ in range(attempts):
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return 200 <= response.status < 300
        except OSError:
            time.sleep(0.1)
    return False


def stop(server: subprocess.Popen[str]) -> str:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    try:
        output, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        output, _ = server.communicate()
    return output


def fail(message: str) -> int:
    print(f"docs-check: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
