"""Atomic writes: a full disk (here a file-size limit) never replaces a good file with half a one.

Each writer runs in a child process under ``RLIMIT_FSIZE`` (what ``ulimit -f`` sets), with
SIGXFSZ ignored so that a write past the limit fails with EFBIG, as a full disk fails with
ENOSPC. The file written before, in the parent, must come through byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests_support import subprocess_env
from visiona.io.atomic import DiskFullError, atomic_path, atomic_write_text

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")

_PRELUDE = """
import resource, signal, sys
from pathlib import Path
from tests_support import subprocess_env
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
LIMIT = 4096
folder = Path(sys.argv[1])
"""

_LIMIT = "resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))\n"

# Each writer: code that prepares (before the limit) and code that writes a file > 4 KiB.
_WRITERS = {
    "best.safetensors": (
        "import torch\nfrom visiona.models.load import load_model\n"
        "from visiona.weights.checkpoint import save_checkpoint\n"
        "loaded = load_model('test_classifier', pretrained=False, num_classes=2)\n",
        "save_checkpoint(folder / 'best.safetensors', loaded.module, 'test_classifier',"
        " loaded.weights)\n",
    ),
    "last.ckpt": (
        "import torch\nfrom lightning.fabric.utilities.cloud_io import _atomic_save\n"
        "from visiona.io.atomic import atomic_path\n",
        "with atomic_path(folder / 'last.ckpt') as tmp:\n"
        "    _atomic_save({'state': torch.zeros(5000)}, tmp)\n",
    ),
    "model.onnx": (
        "from visiona.io.atomic import atomic_write_bytes\n",
        "atomic_write_bytes(folder / 'model.onnx', b'\\x08' * 10000)\n",
    ),
    "gallery.npz": (
        "import numpy as np\nfrom visiona.faces.gallery import Gallery\n"
        "gallery = Gallery(np.zeros((40, 128), np.float32), ('a',) * 40, ('x.jpg',) * 40, 'hog')\n",
        "gallery.save(folder / 'gallery.npz')\n",
    ),
    "manifest.json": (
        "from visiona.data.packaged.make import _write_json\n",
        "_write_json(folder / 'manifest.json', {'x': 'y' * 10000})\n",
    ),
    "labels.txt": (
        "from visiona.io.atomic import atomic_write_text\n",
        "atomic_write_text(folder / 'labels.txt', '0 0.5 0.5 0.1 0.1\\n' * 1000)\n",
    ),
}


@posix_only
@pytest.mark.parametrize("name", sorted(_WRITERS))
def test_size_limit_keeps_the_previous_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"the good previous version")
    prepare, write = _WRITERS[name]
    script = (
        _PRELUDE
        + prepare
        + _LIMIT
        + textwrap.dedent(
            """
        from visiona.errors import VisionaError
        try:
        {body}
        except VisionaError as error:
            print(f"error: {{error}}", file=sys.stderr)
            sys.exit(error.exit_code)
        """
        ).format(body=textwrap.indent(write, "    "))
    )
    env = subprocess_env(
        {
            "PYTHONPATH": os.pathsep.join(
                [*subprocess_env()["PYTHONPATH"].split(os.pathsep), *sys.path]
            )
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: could not write {target}: no space left"), done.stderr
    assert "previous file was kept" in lines[0] and "Traceback" not in done.stderr
    assert target.read_bytes() == b"the good previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_inside_the_block_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "best.safetensors"
    target.write_text("good")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt  # a killed or interrupted writer
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]


def test_disk_full_from_a_library_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    with pytest.raises(DiskFullError, match="nothing was written"), atomic_path(target):
        raise RuntimeError("Error while serializing: I/O error: No space left on device")
    assert not list(tmp_path.iterdir())


@posix_only
def test_a_killed_writer_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "last.ckpt"
    target.write_bytes(b"the good previous version")
    script = textwrap.dedent(
        """
        import sys, time
        from visiona.io.atomic import atomic_path
        with atomic_path(sys.argv[1]) as tmp, open(tmp, "wb") as handle:
            handle.write(b"half of a new checkpoint")
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    env = subprocess_env(
        {
            "PYTHONPATH": os.pathsep.join(
                [*subprocess_env()["PYTHONPATH"].split(os.pathsep), *sys.path]
            )
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, env=env
    )
    assert process.stdout is not None and process.stdout.readline() == b"writing\n"
    process.kill()  # SIGKILL: no cleanup code runs
    process.wait()
    process.stdout.close()
    assert target.read_bytes() == b"the good previous version"
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".last.ckpt.") and name.endswith(".tmp") for name in leftovers)
