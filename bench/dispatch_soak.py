"""Soak the team-dispatch races: the suite's multi-process races
(packages/callpad/tests/test_dispatch_races.py: 20 agents accepting at once, accept
against the caller's cancel, against a sequential step's timeout and against the dispatch
timeout, with three `callpad serve` processes on one PostgreSQL) with many more rounds
than the suite's 200.

Usage: python bench/dispatch_soak.py [--rounds 2000] [-k twenty]
Needs PostgreSQL (CALLPAD_TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("-k", default=None, help="only the races whose names match")
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--timeout=0",
        "--durations=0",
        "packages/callpad/tests/test_dispatch_races.py",
    ]
    if args.k:
        command += ["-k", args.k]
    env = {**os.environ, "CALLPAD_RACE_ROUNDS": str(args.rounds), "CI": "true"}
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))


if __name__ == "__main__":
    main()
