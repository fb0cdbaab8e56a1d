"""Importing visiona and showing CLI help must not import torch (keeps `visiona --help` fast)."""

from __future__ import annotations

import subprocess
import sys

from tests_support import subprocess_env

PROBE = """
import sys
import visiona
import visiona.cli.app as cli
try:
    cli.main(["--help"])
except SystemExit:
    pass
try:
    cli.main(["predict", "classify", "--help"])
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "torchvision", "timm", "numpy", "PIL") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def test_help_does_not_import_heavy_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: visiona" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="


def test_public_api_is_lazy() -> None:
    probe = "import sys, visiona; visiona.Classification; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.stdout.strip() == "False"
