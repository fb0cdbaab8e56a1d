"""``visiona data check`` for segmentation sets: one line per file that is wrong.

Reports images without a mask, masks without an image, unreadable or tiny images, mask/image
size mismatches, ids outside the class list, RGB colours not in the palette and lossy (JPEG)
masks; counts labelled pixels per class. Reads only; nothing in the folder changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visiona.data.detection.annotations import Problem, image_size
from visiona.data.segmentation.dataset import (
    MASK_SUFFIXES,
    SegmentationDataset,
    SegSample,
    read_segmentation_dataset,
)
from visiona.data.segmentation.masks import MaskError
from visiona.errors import ImageLoadError

MIN_SIDE = 2


@dataclass
class SegmentationCheck:
    """What ``check_segmentation`` found."""

    dataset: SegmentationDataset
    problems: list[Problem] = field(default_factory=list)
    pixels: np.ndarray | None = None  # (C,) labelled pixels per class
    images: dict[str, int] = field(default_factory=dict)  # per split
    usable: list[SegSample] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def looks_like_segmentation(folder: Path) -> bool:
    """Whether ``folder`` has a segmentation layout (masks/, SegmentationClass/ without boxes)."""
    if not folder.is_dir():
        return False
    if (folder / "masks").is_dir() or any(
        (folder / s / "masks").is_dir() for s in ("train", "val")
    ):
        return True
    return (folder / "SegmentationClass").is_dir() and not (folder / "Annotations").is_dir()


def check_sample(
    dataset: SegmentationDataset, sample: SegSample
) -> tuple[list[Problem], np.ndarray | None]:
    """Problems of one image/mask pair and its ids (None when unusable)."""
    name = dataset.relative(sample.image)
    try:
        width, height = image_size(sample.image)
    except (ImageLoadError, OSError, ValueError) as error:
        return [Problem(name, None, f"unreadable image: {error}", kind="bad-image")], None
    if min(width, height) < MIN_SIDE:
        return [
            Problem(name, None, f"image is {width}×{height} pixels; too small", kind="tiny-image")
        ], None
    if sample.mask is None and sample.coco_index is None:
        return [Problem(name, None, "no mask for this image", kind="missing-mask")], None
    where = dataset.relative(sample.mask) if sample.mask is not None else name
    try:
        ids, warnings = dataset.read_mask(sample)
    except MaskError as error:
        return [Problem(where, None, str(error), kind="bad-mask")], None
    problems = [Problem(where, None, w, level="warning", kind="lossy-mask") for w in warnings]
    if ids.shape != (height, width):
        problems.append(
            Problem(
                where,
                None,
                f"mask is {ids.shape[1]}×{ids.shape[0]}, its image {width}×{height}",
                kind="size-mismatch",
            )
        )
        return problems, None
    return problems, ids


def check_segmentation(
    folder: str | Path, progress: Callable[[int, int], None] | None = None
) -> SegmentationCheck:
    """Check every image/mask pair of the data set in ``folder``."""
    dataset = read_segmentation_dataset(folder)
    report = SegmentationCheck(dataset, list(dataset.problems))
    pixels = np.zeros(256, np.int64)
    images_with_mask = set()
    for index, sample in enumerate(dataset.samples):
        if progress:
            progress(index, len(dataset.samples))
        problems, ids = check_sample(dataset, sample)
        report.problems += problems
        report.images[sample.split] = report.images.get(sample.split, 0) + 1
        if sample.mask is not None:
            images_with_mask.add(sample.mask.resolve())
        if ids is not None:
            pixels += np.bincount(ids.reshape(-1), minlength=256)
            report.usable.append(sample)
    report.pixels = pixels[: dataset.num_classes]
    if dataset.layout == "folder":
        for masks_dir in {s.mask.parent for s in dataset.samples if s.mask is not None} | {
            dataset.root / "masks"
        }:
            if not masks_dir.is_dir():
                continue
            for path in sorted(masks_dir.iterdir()):
                if path.suffix.lower() in MASK_SUFFIXES and path.resolve() not in images_with_mask:
                    report.problems.append(
                        Problem(
                            dataset.relative(path),
                            None,
                            "mask without an image (ignored)",
                            level="warning",
                            kind="orphan-mask",
                        )
                    )
    return report
