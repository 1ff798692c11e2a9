"""Real `callpad serve` processes for tests: several on one database act as one server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from .servers import free_port

__all__ = ["CallpadProcess", "serving"]

STARTUP_TIMEOUT_S = 180.0  # importing the server takes seconds, many more on a busy machine


class CallpadProcess:
    """One `callpad serve` process on 127.0.0.1, its output in a log file."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    @classmethod
    async def start(
        cls, database_url: str, workdir: Path, name: str, env: Mapping[str, str] | None = None
    ) -> CallpadProcess:
        """Start it with `CALLPAD_*` settings `env` (on top of the database and data dir)
        and wait until `/readyz` answers."""
        port = free_port()
        environment = {
            **os.environ,
            "CALLPAD_DATABASE_URL": database_url,
            "CALLPAD_DATA_DIR": str(workdir),
            **(env or {}),
        }
        log = workdir / f"{name}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from callpad.cli import main; main()",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                env=environment,
                cwd=workdir,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        server = cls(process, f"http://127.0.0.1:{port}", log)
        try:
            await server._ready()
        except BaseException:
            await server.stop()
            raise
        return server

    async def _ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.url, trust_env=False) as client:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"server exited:\n{self.log.read_text()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"server not ready:\n{self.log.read_text()}")
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: a crash, with no chance to finish anything."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, as a process manager stops it; killed only if it hangs."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)  # slow on a busy machine
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"server ignored SIGTERM:\n{self.log.read_text()}") from None


@contextlib.asynccontextmanager
async def serving(
    database_url: str, workdir: Path, envs: list[Mapping[str, str]]
) -> AsyncIterator[list[CallpadProcess]]:
    """One server process per entry of `envs`, on one database, started together and
    stopped on exit."""
    started = await asyncio.gather(
        *(
            CallpadProcess.start(database_url, workdir, f"server{i}", env)
            for i, env in enumerate(envs)
        ),
        return_exceptions=True,
    )
    servers = [s for s in started if isinstance(s, CallpadProcess)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield servers
    finally:
        await asyncio.gather(*(s.stop() for s in servers))
