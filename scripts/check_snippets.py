"""Type-check the Python snippets of the docs with `mypy --strict`, as an app would.

    python scripts/check_snippets.py docs/sdk.md README.md

Each ```python block becomes the body of an `async def` in a module of its own, after a
preamble declaring the names the docs use without defining them (`API`, `token`, a
`callpad` session client, a `host` client, ...). A snippet that mistypes a target, a
method or an argument fails `make check` like the examples do.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PREAMBLE = """\
from __future__ import annotations

from typing import Any

import farvex
from farvex import HostClient, Invite, SessionClient, VoiceSession

API: str = "http://127.0.0.1:8080"
callpad: SessionClient
customer: SessionClient
host: HostClient
agent: HostClient
invite: Invite
session: VoiceSession
session_id: str


def token() -> str:
    return "a token from your backend"


"""
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def main(paths: list[str]) -> int:
    with tempfile.TemporaryDirectory() as workdir:
        where: dict[str, tuple[str, int]] = {}
        offset = PREAMBLE.count("\n") + 1  # the preamble and the `async def` line
        for path in paths:
            text = Path(path).read_text()
            for n, match in enumerate(BLOCK.finditer(text)):
                line = text[: match.start()].count("\n") + 2
                name = f"snippet_{Path(path).stem.replace('-', '_')}_{n}.py"
                body = textwrap.indent(match.group(1), "    ")
                module = f"{PREAMBLE}async def snippet() -> None:\n{body}    pass\n"
                Path(workdir, name).write_text(module)
                where[name] = (path, line)
        if not where:
            print("no snippets found", file=sys.stderr)
            return 1
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", workdir],
            capture_output=True,
            text=True,
        )
        for line in done.stdout.splitlines():
            name, _, rest = line.partition(":")
            found = where.get(Path(name).name)
            if found is not None:
                number, _, message = rest.partition(":")
                path, first = found
                line = f"{path}:{first + int(number) - offset - 1}:{message}"
            print(line)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
