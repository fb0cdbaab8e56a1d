"""Writing a packaged data set as an image folder: :func:`make_dataset`.

Layout: ``OUT/{train,test}/<class>/<name>_<index>.<fmt>`` plus ``dataset.json`` and
``README.txt`` describing source, license, options and counts.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visiona.data.packaged.registry import DatasetBuilder, get_builder
from visiona.data.packaged.sources import Arrays
from visiona.errors import UsageError

SPLITS = ("train", "test")
MANIFEST = "dataset.json"
README = "README.txt"
README_MARKER = "visiona dataset:"
FORMATS = {"png": "PNG", "jpg": "JPEG", "bmp": "BMP"}
MAX_IMAGE_SIZE = 1024


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


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
    from rich.progress import TimeRemainingColumn

    from visiona.progress import progress_bar

    console = Console(stderr=True, highlight=False)
    with progress_bar(f"writing {name}", total, console, TimeRemainingColumn()) as progress:
        task = progress.add_task(name, total=total)
        yield lambda: progress.advance(task)
