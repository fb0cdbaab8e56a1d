"""Fixtures for the detection-data tests: small real data sets written to tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.cli.app import main


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A random RGB image of ``width``×``height`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256, mtime_ns)}`` of every file under ``root``."""
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def image_writer() -> Callable[..., Path]:
    return write_image


@pytest.fixture
def tree_hash() -> Callable[[Path], dict[str, tuple[str, int]]]:
    return tree_state


@pytest.fixture
def yolo_dir(tmp_path: Path) -> Path:
    """A hand-written YOLO set: 2 classes, train (box, polygon, background) and val."""
    root = tmp_path / "yolo"
    write_image(root / "images/train/a.jpg", 100, 50, seed=1)
    write_image(root / "images/train/b.png", 80, 60, seed=2)
    write_image(root / "images/train/c.png", 40, 40, seed=3)  # background: no label file
    write_image(root / "images/val/d.png", 64, 64, seed=4)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/val").mkdir(parents=True)
    (root / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.4\n\n1 0.253 0.51 0.1 0.22\n")
    (root / "labels/train/b.txt").write_text("1 0.1 0.1 0.5 0.1 0.5 0.5\n")
    (root / "labels/val/d.txt").write_text("0 0.5 0.5 1 1\n")
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n"
    )
    return root


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``visiona`` in-process: exit code, stdout, stderr."""

    def run(*args: object) -> CliResult:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
