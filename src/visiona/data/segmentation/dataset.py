"""A semantic segmentation data set on disk: which images, which masks, which classes.

Layouts read (the first that matches):

1. **Folder pairs**: ``DIR/images/`` + ``DIR/masks/`` with the same stems (``a.jpg`` ↔
   ``a.png``), or ``DIR/train/{images,masks}`` + ``DIR/val/{images,masks}`` (+ ``test``).
   Classes from ``DIR/dataset.json`` (``{"classes": [...], "colors": [[r, g, b], ...],
   "ignore_index": 255, "images": "PATH"}``; ``images`` points to an images folder elsewhere, as
   the mask painter writes) or ``DIR/classes.txt`` (one name a line, optionally followed by a
   ``#rrggbb`` colour); without either, the masks' ids name the classes.
2. **Pascal VOC**: ``JPEGImages/`` + ``SegmentationClass/`` (+ ``ImageSets/Segmentation/*.txt``
   splits); the 21 VOC classes.
3. **COCO**: polygons/RLE of a COCO JSON (read by the detection readers), rasterised to one
   class per pixel with ``background`` as class 0 and crowd regions ignored.

Nothing is ever written into the data folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiona.data.detection.annotations import Problem, relative, scan_images
from visiona.data.segmentation.masks import MaskError, infer_num_classes, read_mask
from visiona.errors import InputNotFoundError, UsageError
from visiona.results.segmentation import IGNORE_INDEX, default_colors

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip
MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".gif", ".jpg", ".jpeg", ".webp")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SegSample:
    """One image and its mask (``None``: unlabelled, or rasterised from COCO objects)."""

    image: Path
    mask: Path | None
    split: str = ""
    coco_index: int | None = None


@dataclass
class SegmentationDataset:
    """Images, masks and classes of a segmentation data set (see the module docs)."""

    root: Path
    classes: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]
    samples: list[SegSample]
    layout: str = "folder"
    ignore_index: int = IGNORE_INDEX
    problems: list[Problem] = field(default_factory=list)
    coco: Any = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def labelled(self, split: str | None = None) -> list[SegSample]:
        return [
            s
            for s in self.samples
            if (s.mask is not None or s.coco_index is not None) and (split in (None, s.split))
        ]

    def read_mask(self, sample: SegSample) -> tuple[np.ndarray, list[str]]:
        """``(H, W)`` uint8 class ids of ``sample`` and warnings.

        Raises:
            MaskError: The mask cannot be used.
        """
        if sample.coco_index is not None:
            return self._coco_mask(sample.coco_index), []
        if sample.mask is None:
            raise MaskError("no mask")
        ids, warnings = read_mask(sample.mask, self.colors, self.num_classes)
        if self.ignore_index != IGNORE_INDEX:
            ids = np.where(ids == self.ignore_index, IGNORE_INDEX, ids).astype(np.uint8)
        return ids, warnings

    def _coco_mask(self, index: int) -> np.ndarray:
        from visiona.data.detection.masks import object_mask

        image = self.coco.images[index]
        ids = np.zeros((image.height, image.width), np.uint8)
        crowd = np.zeros_like(ids, dtype=bool)
        for obj in sorted(image.objects, key=lambda o: -(o.width * o.height)):
            mask = object_mask(obj, image.height, image.width)
            if mask is None:
                continue
            if obj.iscrowd:
                crowd |= mask
            else:
                ids[mask] = obj.class_id + 1
        ids[crowd] = IGNORE_INDEX
        return ids

    def relative(self, path: Path) -> str:
        return relative(path, self.root)


def _parse_color(text: str) -> tuple[int, int, int]:
    text = text.strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(text)
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def read_class_file(root: Path) -> tuple[tuple[str, ...], tuple, int, Path | None] | None:
    """Classes, colours, ignore index and images folder from ``dataset.json``/``classes.txt``."""
    meta = root / "dataset.json"
    if meta.is_file():
        try:
            data = json.loads(meta.read_text())
            classes = tuple(str(c) for c in data["classes"])
            colors = tuple(tuple(int(v) for v in c) for c in data.get("colors") or ())
            ignore = int(data.get("ignore_index", IGNORE_INDEX))
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(
                f"{meta}: not a valid dataset.json ({type(error).__name__}: {error})",
                hint='expected {"classes": ["background", "cat"], "colors": [[0,0,0], ...]}',
            ) from None
        if colors and len(colors) != len(classes):
            raise UsageError(f"{meta}: {len(colors)} colours for {len(classes)} classes")
        images = data.get("images")
        images_dir = (root / images).resolve() if images else None
        return classes, colors or default_colors(len(classes)), ignore, images_dir
    text_file = root / "classes.txt"
    if text_file.is_file():
        names, colors = [], []
        for number, line in enumerate(text_file.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            color = None
            if len(parts) > 1 and parts[-1].startswith("#"):
                try:
                    color = _parse_color(parts[-1])
                except ValueError:
                    raise UsageError(f"{text_file}:{number}: bad colour {parts[-1]!r}") from None
                parts = parts[:-1]
            names.append(" ".join(parts))
            colors.append(color)
        defaults = default_colors(len(names))
        filled = tuple(c or d for c, d in zip(colors, defaults, strict=True))
        return tuple(names), filled, IGNORE_INDEX, None
    return None


def _pairs(images_dir: Path, masks_dir: Path, split: str) -> list[SegSample]:
    masks: dict[str, Path] = {}
    if masks_dir.is_dir():
        for path in sorted(masks_dir.rglob("*")):
            if path.suffix.lower() in MASK_SUFFIXES and path.is_file():
                stem = path.relative_to(masks_dir).with_suffix("").as_posix()
                if stem not in masks or path.suffix.lower() == ".png":
                    masks[stem] = path
    samples = []
    for image in scan_images(images_dir):
        stem = image.relative_to(images_dir).with_suffix("").as_posix()
        samples.append(SegSample(image, masks.get(stem), split))
    return samples


def _folder_with_masks(root: Path) -> SegmentationDataset | None:
    """The folder layout when it has masks or a class file (before VOC/COCO are tried)."""
    has_masks = (root / "masks").is_dir() or any((root / s / "masks").is_dir() for s in SPLITS)
    if not has_masks and read_class_file(root) is None:
        return None
    return _folder(root)


def _folder(root: Path) -> SegmentationDataset | None:
    meta = read_class_file(root)
    images_override = meta[3] if meta else None
    samples: list[SegSample] = []
    if images_override is not None:
        samples = _pairs(images_override, root / "masks", "")
    elif (root / "images").is_dir():
        samples = _pairs(root / "images", root / "masks", "")
    else:
        for split in SPLITS:
            if (root / split / "images").is_dir():
                samples += _pairs(root / split / "images", root / split / "masks", split)
    if not samples and not (root / "images").is_dir() and images_override is None:
        return None
    if meta is None:
        mask_files = [s.mask for s in samples if s.mask is not None]
        count = infer_num_classes(mask_files)
        classes = ("background", *(f"class_{i}" for i in range(1, count)))
        colors, ignore = default_colors(count), IGNORE_INDEX
        if count == 2:
            classes = ("background", "foreground")
    else:
        classes, colors, ignore, _ = meta
    return SegmentationDataset(root, classes, tuple(colors), samples, "folder", ignore)


def _voc(root: Path) -> SegmentationDataset | None:
    base = root
    if not (base / "SegmentationClass").is_dir():
        nested = sorted(root.glob("*/SegmentationClass")) + sorted(
            root.glob("*/*/SegmentationClass")
        )
        if not nested:
            return None
        base = nested[0].parent
    split_of: dict[str, str] = {}
    sets = base / "ImageSets" / "Segmentation"
    for split in ("train", "val", "test"):
        listing = sets / f"{split}.txt"
        if listing.is_file():
            for line in listing.read_text().split():
                split_of.setdefault(line.strip(), split)
    masks = {p.stem: p for p in (base / "SegmentationClass").glob("*.png")}
    samples = []
    for image in scan_images(base / "JPEGImages"):
        if image.stem in masks or image.stem in split_of:
            samples.append(SegSample(image, masks.get(image.stem), split_of.get(image.stem, "")))
    meta = read_class_file(root)
    classes, colors = (meta[0], meta[1]) if meta else (VOC_CLASSES, default_colors(21))
    return SegmentationDataset(root, tuple(classes), tuple(colors), samples, "voc")


def _coco(root: Path) -> SegmentationDataset | None:
    from visiona.data.detection.convert import detect_formats, read_dataset

    try:
        formats = [fmt for fmt, _ in detect_formats(root)]
    except Exception:
        return None
    if "coco" not in formats:
        return None
    coco, problems = read_dataset(root, "coco")
    classes = ("background", *coco.classes)
    samples = [
        SegSample(coco.image_path(image), None, image.split, index)
        for index, image in enumerate(coco.images)
    ]
    dataset = SegmentationDataset(
        root, classes, default_colors(len(classes)), samples, "coco", problems=list(problems)
    )
    dataset.coco = coco
    return dataset


def read_segmentation_dataset(path: str | Path) -> SegmentationDataset:
    """Read the data set in ``path`` (see the module docs for the layouts).

    Raises:
        InputNotFoundError: No such folder.
        UsageError: No layout matches, or no image in it.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise InputNotFoundError(f"data folder not found: {str(root)!r}")
    for reader in (_folder_with_masks, _voc, _coco, _folder):
        dataset = reader(root)
        if dataset is not None:
            if not dataset.samples:
                raise UsageError(f"{root}: no images found", hint="put images in DIR/images/")
            return dataset
    raise UsageError(
        f"{root} is not a segmentation data set",
        hint="expected images/ + masks/ (same stems), a VOC SegmentationClass/ or a COCO JSON",
    )


def split_samples(
    dataset: SegmentationDataset, val_fraction: float, seed: int
) -> tuple[list[SegSample], list[SegSample], list[SegSample]]:
    """Train/val/test labelled samples: the data set's own splits, else a seeded random split."""
    labelled = dataset.labelled()
    if any(s.split for s in labelled):
        by = {name: [s for s in labelled if s.split == name] for name in SPLITS}
        train = by["train"] or [s for s in labelled if s.split not in ("val", "test")]
        return train, by["val"], by["test"]
    order = np.random.default_rng(seed).permutation(len(labelled))
    count = max(1, round(len(labelled) * val_fraction)) if len(labelled) > 1 else 0
    val = [labelled[i] for i in sorted(order[:count])]
    train = [labelled[i] for i in sorted(order[count:])]
    return train, val, []
