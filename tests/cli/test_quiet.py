"""Quiet by default: libraries' log chatter never reaches the user's stderr unless --verbose."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from PIL import Image

from perception_support import astronaut, needs
from visiona import quiet

NOISE = re.compile(
    r"GetPrototype|XNNPACK|absl::InitializeLog|inference_feedback_manager|NORM_RECT|"
    r"No CUDA runtime|^[IW]\d{4} ",
    flags=re.M,
)


def test_filter_drops_chatter_and_keeps_real_messages(capfd) -> None:
    with quiet.native_stderr_filtered():
        os.write(2, b"AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"W0000 00:00:1796006620.199048    7938 inference_feedback_manager.cc:114] x\n")
        with quiet.native_stderr_filtered():  # nested: still one redirect
            os.write(2, b"E0000 00:00:1.0 12 graph.cc:1] a real error\n")
        os.write(2, b"something the user must see\n")
    err = capfd.readouterr().err
    assert not NOISE.search(err)
    assert "a real error" in err and "something the user must see" in err


def test_filter_is_shared_by_threads(capfd) -> None:
    def work(index: int) -> None:
        with quiet.native_stderr_filtered():
            os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
            os.write(2, f"kept {index}\n".encode())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and sorted(re.findall(r"kept \d", err)) == [
        f"kept {i}" for i in range(4)
    ]
    with quiet.native_stderr_filtered():
        pass
    os.write(2, b"after\n")  # fd 2 is back where it was
    assert capfd.readouterr().err == "after\n"


def test_verbose_shows_everything(capfd, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_VERBOSE", "1")
    with quiet.native_stderr_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert "XNNPACK" in capfd.readouterr().err


@needs("mediapipe")
def test_predict_pose_in_a_real_subprocess_prints_no_chatter(cli_process, tmp_path: Path) -> None:
    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    result = cli_process("predict", "pose", photo, "--save", tmp_path / "out")
    assert result.code == 0, result.err
    assert not NOISE.search(result.err), result.err
    assert result.err.splitlines()[0] == "found 1 pose in 1 image"
    verbose = cli_process("--verbose", "predict", "pose", photo, "--json")
    assert verbose.code == 0 and "XNNPACK" in verbose.err  # the filter is what hid it


def test_no_cuda_runtime_warning_is_lowered_by_the_cli() -> None:
    import subprocess
    import sys

    def stderr_of(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        return done.stderr

    quiet = stderr_of(
        "from visiona.quiet import quiet_library_loggers; quiet_library_loggers(); "
        "import torch.utils.cpp_extension"
    )
    assert "No CUDA runtime" not in quiet
    plain = stderr_of("import torch.utils.cpp_extension")
    if "No CUDA runtime" not in plain:
        pytest.skip("torch does not warn here (no CUDA folder without a GPU)")
