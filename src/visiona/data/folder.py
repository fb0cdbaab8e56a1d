"""Image-folder datasets: one subfolder per class, scanned, checked and split reproducibly.

``DIR/cat/*.jpg, DIR/dog/*.jpg`` is one labelled set; ``DIR/train/<class>/`` with ``DIR/val/`` (and
optionally ``DIR/test/``) are explicit splits. Otherwise a seeded, stratified split is made and
written as JSON, so the same data trained again gets the same split.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visiona.errors import InputNotFoundError, UsageError
from visiona.io.atomic import atomic_write_text
from visiona.io.images import is_image_path

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Sample:
    """One labelled image file."""

    path: Path
    label: int


@dataclass(frozen=True)
class LabelledFolder:
    """A scanned class-per-subfolder image folder.

    Attributes:
        root: The folder.
        classes: Class names (subfolder names), sorted; index = label.
        samples: Every image with its label, sorted by path.
    """

    root: Path
    classes: tuple[str, ...]
    samples: tuple[Sample, ...]

    def counts(self) -> dict[str, int]:
        """Images per class name."""
        counts = dict.fromkeys(self.classes, 0)
        for sample in self.samples:
            counts[self.classes[sample.label]] += 1
        return counts


def _image_files(folder: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".") and is_image_path(name)
        )
    return sorted(files)


def scan_folder(root: str | Path, classes: Sequence[str] | None = None) -> LabelledFolder:
    """Scan ``root/<class>/...`` into labelled samples.

    Args:
        root: Folder with one subfolder per class.
        classes: Use this class order (e.g. a checkpoint's); subfolders not in it are an error.

    Raises:
        InputNotFoundError: ``root`` is missing, has no class subfolders, or a class folder is empty.
        UsageError: The folder's classes do not match ``classes``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise InputNotFoundError(f"dataset folder not found: {str(root)!r}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise InputNotFoundError(
            f"{root} has no class subfolders",
            hint="expected DIR/<class name>/<images>, e.g. pets/cat/1.jpg, pets/dog/2.jpg",
        )
    if classes is not None:
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise UsageError(
                f"{root} has classes the model does not know: {', '.join(unknown)}",
                hint=f"the model's classes are: {', '.join(classes)}",
            )
    names = tuple(classes) if classes is not None else tuple(found)
    samples: list[Sample] = []
    empty = []
    for label, name in enumerate(names):
        folder = root / name
        files = _image_files(folder) if folder.is_dir() else []
        if not files and name in found:
            empty.append(name)
        samples.extend(Sample(path, label) for path in files)
    if empty:
        raise InputNotFoundError(
            f"{root}: class folder(s) with no images: {', '.join(empty)}",
            hint="add images or remove the empty folders",
        )
    return LabelledFolder(root=root, classes=names, samples=tuple(samples))


def has_explicit_splits(root: Path) -> bool:
    """True when ``root`` holds ``train/`` and ``val/`` (or ``test/``) folders."""
    return (root / "train").is_dir() and ((root / "val").is_dir() or (root / "test").is_dir())


@dataclass(frozen=True)
class DataSplits:
    """Train/val(/test) samples that share one class list."""

    classes: tuple[str, ...]
    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    test: tuple[Sample, ...] = ()
    root: Path | None = None
    seed: int | None = None
    explicit: bool = False

    def to_json(self) -> str:
        root = self.root

        def rel(samples: tuple[Sample, ...]) -> list[list[object]]:
            return [[_relative(s.path, root), s.label] for s in samples]

        return json.dumps(
            {
                "root": str(root) if root else None,
                "seed": self.seed,
                "explicit": self.explicit,
                "classes": list(self.classes),
                "train": rel(self.train),
                "val": rel(self.val),
                "test": rel(self.test),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, root: Path | None = None) -> DataSplits:
        data = json.loads(text)
        base = root or (Path(data["root"]) if data.get("root") else None)

        def samples(key: str) -> tuple[Sample, ...]:
            return tuple(
                Sample((base / p) if base and not Path(p).is_absolute() else Path(p), int(label))
                for p, label in data.get(key, [])
            )

        return cls(
            classes=tuple(data["classes"]),
            train=samples("train"),
            val=samples("val"),
            test=samples("test"),
            root=base,
            seed=data.get("seed"),
            explicit=bool(data.get("explicit")),
        )


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def stratified_split(
    folder: LabelledFolder, val_fraction: float = 0.2, test_fraction: float = 0.0, seed: int = 0
) -> DataSplits:
    """Split each class separately so every split keeps the class proportions.

    A class with too few images for every split keeps them in train (at least one image always
    goes to train).
    """
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise UsageError(
            f"invalid split fractions val={val_fraction}, test={test_fraction}",
            hint="use e.g. --val 0.2 (and --test 0.1); they must add up to less than 1",
        )
    rng = np.random.default_rng(seed)
    train: list[Sample] = []
    val: list[Sample] = []
    test: list[Sample] = []
    by_class: dict[int, list[Sample]] = {}
    for sample in folder.samples:
        by_class.setdefault(sample.label, []).append(sample)
    for label in sorted(by_class):
        items = by_class[label]
        order = rng.permutation(len(items))
        shuffled = [items[i] for i in order]
        n = len(shuffled)
        n_test = round(n * test_fraction) if n >= 3 else 0
        n_val = round(n * val_fraction) if n >= 2 else 0
        if n_val == 0 and n >= 2:
            n_val = 1
        n_test = min(n_test, max(0, n - n_val - 1))
        val.extend(shuffled[:n_val])
        test.extend(shuffled[n_val : n_val + n_test])
        train.extend(shuffled[n_val + n_test :])
    return DataSplits(
        classes=folder.classes,
        train=tuple(sorted(train, key=lambda s: s.path)),
        val=tuple(sorted(val, key=lambda s: s.path)),
        test=tuple(sorted(test, key=lambda s: s.path)),
        root=folder.root,
        seed=seed,
    )


def data_fingerprint(folder: LabelledFolder) -> str:
    """A short hash of the folder's file list and labels (not contents), to recognise the same data."""
    digest = hashlib.sha256(str(folder.root.resolve()).encode())
    for sample in folder.samples:
        digest.update(f"{_relative(sample.path, folder.root)}\0{sample.label}\n".encode())
    return digest.hexdigest()[:16]


def load_splits(
    data: str | Path,
    *,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
    split_file: Path | None = None,
) -> DataSplits:
    """The train/val(/test) splits for ``data``: explicit folders, a given split file, or a split
    made once per (data, seed, fractions) and remembered so later runs on the same data reuse it.

    Args:
        data: Dataset folder (class subfolders, or ``train/`` + ``val/``/``test/``).
        val_fraction: Share of each class held out for validation when splitting.
        test_fraction: Share held out for a test split (0: none).
        seed: Seed of the split.
        split_file: A ``split.json`` written by an earlier run (``--resume`` uses the run's own).
    """
    # Splits store absolute paths so they stay valid from any working directory.
    root = Path(data).expanduser().resolve()
    if split_file is not None:
        return DataSplits.from_json(split_file.read_text())
    if not root.is_dir():
        raise InputNotFoundError(f"dataset folder not found: {str(root)!r}")
    if has_explicit_splits(root):
        train = scan_folder(root / "train")
        held_out = {}
        for name in ("val", "test"):
            if (root / name).is_dir():
                held_out[name] = scan_folder(root / name, classes=train.classes).samples
        val = held_out.get("val") or held_out.get("test", ())
        test = held_out.get("test", ()) if "val" in held_out else ()
        return DataSplits(train.classes, train.samples, val, test, root=root, explicit=True)
    folder = scan_folder(root)
    from visiona.weights.cache import visiona_home

    key = f"{data_fingerprint(folder)}-seed{seed}-val{val_fraction:g}-test{test_fraction:g}.json"
    remembered = visiona_home() / "splits" / key
    if remembered.is_file():
        splits = DataSplits.from_json(remembered.read_text())
        if splits.classes == folder.classes:
            return splits
    splits = stratified_split(folder, val_fraction, test_fraction, seed)
    atomic_write_text(remembered, splits.to_json())
    return splits
