"""Run the CLI in-process (fast) or as a real subprocess (the installed entry point)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests_support import subprocess_env
from visiona.cli.app import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def run(*args: str) -> CliResult:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_process():
    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        merged = subprocess_env({"COLUMNS": "200", **(env or {})})
        done = subprocess.run(
            [sys.executable, "-m", "visiona", *map(str, args)],
            capture_output=True, text=True, env=merged, timeout=300,
        )  # fmt: skip
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run
