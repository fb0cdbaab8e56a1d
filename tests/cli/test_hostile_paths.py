"""`visiona predict` on devices, FIFOs, broken and looping links, and --save inside the input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests_support import subprocess_env

needs_posix = pytest.mark.skipif(
    not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="needs FIFOs, /dev/zero"
)


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((32, 40, 3), 90, dtype=np.uint8)).save(path)
    return path


@needs_posix
def test_devices_fifos_and_bad_links_are_one_error_line_each(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _image(folder / "good.png")
    os.mkfifo(folder / "x.jpg")  # opening it for reading would block forever
    (folder / "zero.jpg").symlink_to("/dev/zero")  # reading it would never end
    (folder / "dangling.jpg").symlink_to(folder / "missing.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    env = subprocess_env({"COLUMNS": "200"})
    done = subprocess.run(
        [sys.executable, "-m", "visiona", "predict", "classify", str(folder), "/dev/zero",
         "-m", "test_classifier", "--random-init", "--json"],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, done.stderr  # /dev/zero is zero.jpg's target: reported once
    by_name = {Path(line.split(":")[1].strip()).name: line for line in errors}
    assert "FIFO" in by_name["x.jpg"] and "not a regular file" in by_name["x.jpg"]
    assert "character device" in by_name["zero.jpg"]
    assert (
        "broken symbolic link" in by_name["dangling.jpg"]
        and "missing.jpg" in by_name["dangling.jpg"]
    )
    assert "symbolic link loop" in by_name["loop.jpg"]
    assert "classified 1 image, 4 could not be read" in done.stderr
    assert "Traceback" not in done.stderr


def test_byte_limit_is_checked_before_decoding(cli, tmp_path: Path, monkeypatch) -> None:
    big = _image(tmp_path / "big.png")
    monkeypatch.setenv("VISIONA_MAX_FILE_BYTES", str(big.stat().st_size - 1))
    result = cli("predict", "classify", big, "-m", "test_classifier", "--random-init")
    assert result.code == 1
    assert "larger than the" in result.err and "VISIONA_MAX_FILE_BYTES" in result.err


def test_save_inside_a_scanned_input_folder_is_refused(cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _image(folder / "a.png")
    for save in (folder, folder / "sub", folder / "sub" / "deeper"):
        result = cli(
            "predict", "classify", folder, "-m", "test_classifier", "--random-init", "--save", save
        )
        assert result.code == 2, result.err
        assert result.err.startswith("error: --save") and "Traceback" not in result.err
    assert sorted(p.name for p in folder.rglob("*")) == ["a.png"]
    outside = tmp_path / "out"
    result = cli(
        "predict", "classify", folder, "-m", "test_classifier", "--random-init", "--save", outside
    )
    assert result.code == 0 and len(list(outside.glob("a*.png"))) == 1  # a_classify.png


def test_explicit_link_loop_is_named_as_a_loop(cli, tmp_path: Path) -> None:
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    result = cli("predict", "classify", loop, "-m", "test_classifier", "--random-init")
    assert result.code == 2 and "symbolic link loop" in result.err
