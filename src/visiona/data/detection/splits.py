"""Train / val / test splits of a detection data set for training, with bad labels left out.

:func:`load_detection_splits` reads a COCO, YOLO or VOC folder, reports what is wrong with it and
keeps only what a detector can train on:

* images whose file is missing or unreadable, or whose declared size (COCO, VOC) differs from
  the file, are left out (their labels cannot be trusted);
* objects with a class id out of range, a zero-area box or a box entirely outside the image (and
  RLE masks of the wrong size) are left out; boxes reaching slightly beyond the image are kept
  (the transforms clip them);
* images without labels stay, as background images.

Every finding is a :class:`~visiona.data.detection.annotations.Problem` with file and line; an
``error`` means the object or image was left out, a ``warning`` that it was kept.

The data set's own splits are used when it has them (``valid`` / ``validation`` count as
``val``, ``train2017`` as ``train``); a missing val (or, with ``test_fraction``, test) split is
drawn from the training images with a seeded generator, and a data set without splits is split at
random the same way. :meth:`DetectionSplits.to_json` records which files went where, so a resumed
run trains on exactly the same split (:meth:`DetectionSplits.from_json`).
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
    Problem,
    image_size,
    relative,
)
from visiona.errors import ImageLoadError, InputNotFoundError, UsageError

SPLITS_VERSION = 1
"""Version of the JSON written by :meth:`DetectionSplits.to_json`."""

_ROLES = ("train", "val", "test")


def split_role(name: str) -> str | None:
    """``train``, ``val`` or ``test`` for a data set's split name, None for anything else.

    ``valid``, ``validation`` and ``val2017`` are ``val``; ``train2017`` and VOC's ``trainval``
    are ``train``; ``test-dev`` is ``test``.
    """
    lowered = name.strip().lower()
    if lowered.startswith("train"):
        return "train"
    if lowered.startswith("val"):
        return "val"
    if lowered.startswith("test"):
        return "test"
    return None


@dataclass
class DetectionSplits:
    """A data set cut into train / val / test, bad labels already left out.

    Attributes:
        dataset: The data set with only its usable images (objects cleaned) in ``images``.
        train: Training images (objects cleaned); background images included.
        val: Validation images.
        test: Test images (often empty).
        problems: Everything the reader and the checks reported, sorted by file and line;
            ``error`` entries were left out of the splits.
        origin: How the splits were made: ``"dataset"`` (the data set's own), ``"random"``
            (seeded split of unsplit images), ``"mixed"`` (own splits plus drawn ones) or
            ``"json"`` (read back from a split file).
        seed: Seed of the random part.
    """

    dataset: DetectionDataset
    train: list[ImageAnnotation]
    val: list[ImageAnnotation]
    test: list[ImageAnnotation]
    problems: list[Problem] = field(default_factory=list)
    origin: str = "dataset"
    seed: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Error-level problems (what was left out)."""
        return [p for p in self.problems if p.level == "error"]

    def counts(self) -> dict[str, int]:
        """Images per split: ``{"train": 160, "val": 40, "test": 0}``."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def to_json(self) -> str:
        """The split as JSON: which image files (relative to the images root) are in which split.

        Returns:
            Indented JSON text (``split.json`` in a run folder).
        """
        document = {
            "version": SPLITS_VERSION,
            "created_by": "visiona",
            "origin": self.origin,
            "seed": self.seed,
            "classes": list(self.dataset.classes),
            "splits": {role: [i.file for i in getattr(self, role)] for role in _ROLES},
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, dataset: DetectionDataset) -> DetectionSplits:
        """Rebuild the splits :meth:`to_json` wrote, over ``dataset`` (read again from disk).

        The same cleaning as :func:`load_detection_splits` is applied, so a data set read with
        :func:`~visiona.data.detection.convert.read_dataset` or a ``DetectionSplits.dataset``
        both work.

        Args:
            text: The JSON text.
            dataset: The data set the splits were made from.

        Returns:
            The splits, ``origin="json"``.

        Raises:
            UsageError: The text is not a split file, its classes differ from the data set's,
                or it names image files the data set no longer has.
        """
        try:
            document = json.loads(text)
        except ValueError as error:
            raise UsageError(f"the split file is not valid JSON ({error})") from None
        if (
            not isinstance(document, dict)
            or document.get("version") != SPLITS_VERSION
            or not isinstance(document.get("splits"), dict)
        ):
            raise UsageError(
                f"not a visiona split file (expected version {SPLITS_VERSION} with 'splits')"
            )
        classes = document.get("classes")
        if classes is not None and tuple(classes) != dataset.classes:
            raise UsageError(
                f"the split file's classes {classes} differ from the data set's "
                f"{list(dataset.classes)}",
                hint="the data set changed since the run started; start a new run",
            )
        usable, problems = clean_dataset(dataset)
        by_file: dict[str, list[ImageAnnotation]] = {}
        for image in usable:
            by_file.setdefault(image.file, []).append(image)
        known = {image.file for image in dataset.images}
        parts: dict[str, list[ImageAnnotation]] = {}
        for role in _ROLES:
            files = document["splits"].get(role, [])
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                raise UsageError(f"the split file's {role!r} entry must be a list of file names")
            missing = [f for f in files if f not in known]
            if missing:
                more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                raise UsageError(
                    f"the split file names {missing[0]!r}{more}, which the data set does not have",
                    hint="the data set changed since the run started; start a new run",
                )
            parts[role] = [by_file[f].pop(0) for f in files if by_file.get(f)]
        cleaned = dataclasses.replace(dataset, images=usable)
        return cls(
            dataset=cleaned,
            train=parts["train"],
            val=parts["val"],
            test=parts["test"],
            problems=problems,
            origin="json",
            seed=int(document.get("seed", 0)),
        )


# --------------------------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------------------------


def _bad_object(obj: ObjectAnnotation, image: ImageAnnotation, num_classes: int) -> bool:
    """True for the objects :func:`~visiona.data.detection.check.validate_dataset` calls errors."""
    if not 0 <= obj.class_id < num_classes:
        return True
    x0, y0, x1, y1 = obj.box
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return True
    width, height = image.width, image.height
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return True
    return obj.rle is not None and list(obj.rle.get("size", [])) != [height, width]


def _image_problem(dataset: DetectionDataset, image: ImageAnnotation) -> Problem | None:
    """Why ``image`` cannot be used (missing, unreadable, wrong declared size), or None."""
    root = dataset.root or dataset.images_root
    path = dataset.image_path(image)
    shown = relative(path, root)
    where = image.label_file or shown
    if not path.is_file():
        return Problem(
            where,
            image.line,
            f"labels refer to a missing image: {shown} (left out)",
            kind="missing-image",
        )
    if not (image.width and image.height) or dataset.source_format in ("coco", "voc"):
        try:
            actual = image_size(path)
        except ImageLoadError as error:
            return Problem(shown, None, f"{error.reason} (left out)", kind="unreadable-image")
        if image.width and image.height and actual != (image.width, image.height):
            return Problem(
                where,
                image.line,
                f"declared size {image.width}×{image.height} but {shown} is "
                f"{actual[0]}×{actual[1]} (left out)",
                kind="size-mismatch",
            )
        if not (image.width and image.height):
            return Problem(shown, None, "image size unknown (left out)", kind="unreadable-image")
    return None


def clean_dataset(dataset: DetectionDataset) -> tuple[list[ImageAnnotation], list[Problem]]:
    """The usable images of ``dataset`` (copies, bad objects removed) and the problems found.

    Args:
        dataset: A data set as read; it is not modified.

    Returns:
        ``(images, problems)``: usable images in data set order, and the problems of
        :func:`~visiona.data.detection.check.validate_dataset` plus missing / unreadable images.
    """
    from visiona.data.detection.check import validate_dataset

    problems = validate_dataset(dataset)
    usable: list[ImageAnnotation] = []
    num_classes = len(dataset.classes)
    for image in dataset.images:
        problem = _image_problem(dataset, image)
        if problem is not None:
            problems.append(problem)
            continue
        kept = [o for o in image.objects if not _bad_object(o, image, num_classes)]
        usable.append(dataclasses.replace(image, objects=kept))
    return usable, problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file != ".", p.file, p.line or 0))


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("val", val_fraction), ("test", test_fraction)):
        if not 0 <= value < 1:
            raise UsageError(f"the {name} fraction must be in [0, 1), not {value}")
    if val_fraction + test_fraction >= 1:
        raise UsageError(
            f"val fraction {val_fraction} + test fraction {test_fraction} leave no training images",
            hint="keep their sum below 1 (e.g. 0.2 and 0.1)",
        )


def _draw(
    pool: list[ImageAnnotation], fraction: float, total: int, rng: random.Random
) -> tuple[list[ImageAnnotation], list[ImageAnnotation]]:
    """``(kept, drawn)``: ``round(total * fraction)`` images (at least 1) drawn from ``pool``."""
    if fraction <= 0 or len(pool) < 2:
        return pool, []
    count = min(max(round(total * fraction), 1), len(pool) - 1)
    order = sorted(range(len(pool)), key=lambda i: pool[i].file)
    rng.shuffle(order)
    chosen = set(order[:count])
    kept = [image for i, image in enumerate(pool) if i not in chosen]
    drawn = [image for i, image in enumerate(pool) if i in chosen]
    return kept, drawn


def load_detection_splits(
    path: str | Path,
    *,
    fmt: str | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> DetectionSplits:
    """Read a detection data set and cut it into train / val / test for training.

    Args:
        path: Data set folder (or a COCO JSON / YOLO yaml file).
        fmt: ``coco``, ``yolo`` or ``voc``; detected from the files when None.
        val_fraction: Share of the images drawn for val when the data set has no val split.
        test_fraction: Share drawn for test when the data set has no test split (0: no test).
        seed: Seed of the draw; the same seed gives the same split.

    Returns:
        The splits, with every problem found (see the module docs for what is left out).

    Raises:
        InputNotFoundError: ``path`` does not exist.
        UsageError: Unknown or mismatched format, bad fractions, no val split while
            ``val_fraction`` is 0, or no usable training image.
    """
    from visiona.data.detection.convert import (
        _reader,
        check_format_name,
        detect_format,
        detect_formats,
    )

    _check_fractions(val_fraction, test_fraction)
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    if fmt is None:
        fmt = detect_format(path)
    else:
        fmt = check_format_name(fmt)
        found = detect_formats(path)
        if found and fmt not in {f for f, _ in found}:
            evidence = ", ".join(f"{f.upper()} ({why})" for f, why in found)
            raise UsageError(
                f"{path} is not a {fmt.upper()} data set; it looks like {evidence}",
                hint="name the right format, or leave it out to detect it",
            )
    try:
        dataset, problems = _reader(fmt)(path)
    except InputNotFoundError as error:
        raise UsageError(f"{path} is not a {fmt.upper()} data set: {error.message}") from None
    usable, found_problems = clean_dataset(dataset)
    problems = _sorted([*problems, *found_problems])

    parts: dict[str, list[ImageAnnotation]] = {role: [] for role in _ROLES}
    other: list[ImageAnnotation] = []
    for image in usable:
        role = split_role(image.split) if image.split else None
        (parts[role] if role else other).append(image)
    own = [role for role in _ROLES if parts[role]]
    rng = random.Random(seed)
    origin = "dataset"
    if not own:
        origin = "random"
        pool, total = other, len(other)
        pool, parts["test"] = _draw(pool, test_fraction, total, rng)
        pool, parts["val"] = _draw(pool, val_fraction, total, rng)
        parts["train"] = pool
    else:
        if other:
            names = sorted({image.split for image in other})
            shown = ", ".join(repr(n) if n else "no split" for n in names)
            problems.append(
                Problem(
                    ".",
                    None,
                    f"{len(other)} images in splits {shown} are used for training",
                    level="warning",
                    kind="unknown-split",
                )
            )
            parts["train"].extend(other)
        total = sum(len(v) for v in parts.values())
        if not parts["test"] and test_fraction > 0:
            origin = "mixed"
            parts["train"], parts["test"] = _draw(parts["train"], test_fraction, total, rng)
        if not parts["val"] and val_fraction > 0:
            origin = "mixed"
            parts["train"], parts["val"] = _draw(parts["train"], val_fraction, total, rng)
    if not parts["val"]:
        if val_fraction == 0:
            raise UsageError(
                f"{path} has no val split and the val fraction is 0",
                hint="give a val fraction (e.g. 0.2) or add a val split to the data set",
            )
        raise UsageError(
            f"{path} has too few usable images to draw a val split ({len(usable)} usable)",
            hint="add images or a val split; see the problems reported",
        )
    if not any(image.objects for image in parts["train"]):
        errors = sum(1 for p in problems if p.level == "error")
        reason = "no training image" if not parts["train"] else "no labelled training image"
        raise UsageError(
            f"{path}: {reason} is usable ({errors} errors found)",
            hint="run `visiona data check` on the data set and fix the errors it lists",
        )
    return DetectionSplits(
        dataset=dataclasses.replace(dataset, images=usable),
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
        problems=problems,
        origin=origin,
        seed=seed,
    )


def splits_summary(splits: DetectionSplits) -> dict[str, Any]:
    """Counts for logs: images, objects and background images per split."""
    return {
        role: {
            "images": len(images),
            "objects": sum(len(i.objects) for i in images),
            "background": sum(1 for i in images if not i.objects),
        }
        for role, images in (("train", splits.train), ("val", splits.val), ("test", splits.test))
    }


__all__ = [
    "SPLITS_VERSION",
    "DetectionSplits",
    "clean_dataset",
    "load_detection_splits",
    "split_role",
    "splits_summary",
]
