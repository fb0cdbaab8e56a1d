"""The synthetic shapes data set: circles, squares and triangles with exact boxes and masks.

Every image is drawn with numpy from its own seeded generator (``seed`` and the image index), so a
build is byte-for-byte reproducible and image ``k`` is the same whatever ``num_images`` is. Each
image has a random two-colour gradient background with mild noise and 1..``max_objects`` shapes
(class, size 12-40 % of the image side, rotation, position, colour all random) that may overlap:
later shapes cover earlier ones, and a placement is refused when it would hide more than half of
an earlier shape or punch a hole in it.

Labels are exact: each object's mask is its *visible* pixels (pixels whose centre the shape
covers, minus later shapes), its box the tight bounds of that mask in pixel-edge coordinates
(xyxy absolute pixels: a mask spanning columns 10..19 has x0 = 10, x1 = 20), and its polygons the
mask's outline traced along pixel edges (so rasterising them gives the mask back exactly). The
data set is written through the COCO, YOLO or VOC writers with ``train``/``val`` splits, plus a
``dataset.json`` manifest.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.data.detection.annotations import (
    FORMATS,
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
)
from visiona.errors import UsageError

if TYPE_CHECKING:
    import numpy as np

SHAPE_CLASSES = ("circle", "square", "triangle")
MANIFEST = "dataset.json"
MAX_IMAGE_SIZE = 2048
MIN_IMAGE_SIZE = 32
_OUTPUTS = (
    "images", "labels", "annotations", "data.yaml", "Annotations", "JPEGImages", "ImageSets",
    "SegmentationObject", "classes.txt", MANIFEST,
)  # fmt: skip
_MIN_VISIBLE_SHARE = 0.5
_TRIES = 30


@dataclass
class ShapesReport:
    """What :func:`make_shapes` wrote.

    Attributes:
        out_dir: The data set folder.
        format: ``coco``, ``yolo`` or ``voc``.
        classes: ``("circle", "square", "triangle")``.
        images: Images per split.
        objects: Objects per split and class id.
        image_size: Side of the square images in pixels.
        seconds: Wall time.
    """

    out_dir: Path
    format: str
    classes: tuple[str, ...] = SHAPE_CLASSES
    images: dict[str, int] = field(default_factory=dict)
    objects: dict[str, Counter[int]] = field(default_factory=dict)
    image_size: int = 0
    seconds: float = 0.0

    @property
    def total_images(self) -> int:
        return sum(self.images.values())

    @property
    def total_objects(self) -> int:
        return sum(sum(c.values()) for c in self.objects.values())


@dataclass
class DrawnShape:
    """One drawn object: class id and its visible mask (``(H, W)`` bool)."""

    class_id: int
    mask: np.ndarray


def _shape_mask(rng: np.random.Generator, class_id: int, size: int) -> np.ndarray:
    """Full (unoccluded) mask of a random shape of ``class_id`` lying inside the image."""
    import numpy as np

    from visiona.data.detection.masks import polygons_to_mask

    side = rng.uniform(0.12, 0.40) * size
    if class_id == 0:  # circle
        radius = side / 2
        cx, cy = rng.uniform(radius, size - radius, 2)
        centres = np.arange(size) + 0.5
        return (centres[None, :] - cx) ** 2 + (centres[:, None] - cy) ** 2 <= radius**2
    angle = rng.uniform(0, math.pi / 2 if class_id == 1 else 2 * math.pi / 3)
    if class_id == 1:  # square
        corners = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
        offsets = [
            (side * (x * math.cos(angle) - y * math.sin(angle)),
             side * (x * math.sin(angle) + y * math.cos(angle)))
            for x, y in corners
        ]  # fmt: skip
    else:  # equilateral triangle, circumradius side / sqrt(3)
        radius = side / math.sqrt(3)
        offsets = [
            (radius * math.cos(angle + k * 2 * math.pi / 3),
             radius * math.sin(angle + k * 2 * math.pi / 3))
            for k in range(3)
        ]  # fmt: skip
    xs = [dx for dx, _ in offsets]
    ys = [dy for _, dy in offsets]
    cx = rng.uniform(-min(xs), size - max(xs))
    cy = rng.uniform(-min(ys), size - max(ys))
    polygon = [v for dx, dy in offsets for v in (cx + dx, cy + dy)]
    return polygons_to_mask([polygon], size, size)


def _has_hole(mask: np.ndarray) -> bool:
    from visiona.data.detection.masks import mask_to_polygons

    return mask_to_polygons(mask)[1] > 0


def draw_shapes_image(
    seed: int, index: int, *, image_size: int = 128, max_objects: int = 4
) -> tuple[np.ndarray, list[DrawnShape]]:
    """Draw image ``index`` of the shapes data set for ``seed``.

    Returns:
        ``(pixels, shapes)``: an ``(S, S, 3)`` uint8 RGB image and its objects, bottom first,
        each with its visible mask.
    """
    import numpy as np

    rng = np.random.default_rng([seed, index])
    size = image_size
    # Background: a random two-colour linear gradient.
    start, end = rng.uniform(0, 255, (2, 3))
    theta = rng.uniform(0, 2 * math.pi)
    coords = np.arange(size) + 0.5
    ramp = (coords[None, :] * math.cos(theta) + coords[:, None] * math.sin(theta)) / size
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    canvas = start + ramp[..., None] * (end - start)

    shapes: list[DrawnShape] = []
    full_areas: list[int] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        class_id = int(rng.integers(0, len(SHAPE_CLASSES)))
        for _attempt in range(_TRIES):
            full = _shape_mask(rng, class_id, size)
            area = int(full.sum())
            if area < 16:
                continue
            covered = [shape.mask & ~full for shape in shapes]
            if all(
                new.sum() >= _MIN_VISIBLE_SHARE * total and not _has_hole(new)
                for new, total in zip(covered, full_areas, strict=True)
            ):
                break
        else:
            continue
        ys, xs = np.nonzero(full)
        background = canvas[ys, xs].mean(axis=0)
        for _attempt in range(10):
            colour = rng.uniform(0, 255, 3)
            if np.abs(colour - background).sum() > 150:
                break
        for shape, new in zip(shapes, covered, strict=True):
            shape.mask = new
        canvas[full] = colour
        shapes.append(DrawnShape(class_id, full))
        full_areas.append(area)
    noise = rng.normal(0.0, 6.0, canvas.shape)
    pixels = np.clip(np.rint(canvas + noise), 0, 255).astype(np.uint8)
    return pixels, shapes


def shape_annotation(shape: DrawnShape, *, masks: bool = True) -> ObjectAnnotation:
    """The exact annotation of a drawn shape: tight mask box (xyxy pixels) and traced polygons."""
    import numpy as np

    from visiona.data.detection.masks import mask_to_polygons

    rows = np.flatnonzero(shape.mask.any(axis=1))
    cols = np.flatnonzero(shape.mask.any(axis=0))
    box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
    polygons = mask_to_polygons(shape.mask)[0] if masks else None
    return ObjectAnnotation(box=box, class_id=shape.class_id, polygons=polygons)


def _validate(
    num_images: int, image_size: int, max_objects: int, seed: int, fmt: str, val_fraction: float
) -> str:
    if num_images < 1:
        raise UsageError(f"the number of images must be at least 1, not {num_images}")
    if not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise UsageError(
            f"image size must be {MIN_IMAGE_SIZE}-{MAX_IMAGE_SIZE} pixels, not {image_size}"
        )
    if max_objects < 1:
        raise UsageError(f"max objects must be at least 1, not {max_objects}")
    if seed < 0:
        raise UsageError(f"seed must be 0 or more, not {seed}")
    if not 0 <= val_fraction < 1:
        raise UsageError(f"the val fraction must be in [0, 1), not {val_fraction}")
    name = fmt.strip().lower()
    if name not in FORMATS:
        raise UsageError(
            f"unknown label format {fmt!r} for shapes; choose one of: {', '.join(FORMATS)}"
        )
    return name


def _prepare(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file, not a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    if not overwrite:
        raise UsageError(
            f"{out_dir} is not empty; refusing to write a data set into it",
            hint="pass --overwrite to replace a previous shapes build there (other files are "
            "kept), or choose an empty folder",
        )
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text())
        ours = manifest.get("created_by") == "visiona" and manifest.get("name") == "shapes"
    except (OSError, ValueError, AttributeError):
        ours = False
    present = [name for name in _OUTPUTS if (out_dir / name).exists()]
    if present and not ours:
        raise UsageError(
            f"{out_dir}/{present[0]} was not written by visiona data make shapes; refusing to "
            "replace it",
            hint="remove it yourself or choose another folder",
        )
    for name in present:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def make_shapes(
    out_dir: str | Path,
    *,
    num_images: int = 200,
    image_size: int = 128,
    max_objects: int = 4,
    seed: int = 0,
    fmt: str = "coco",
    val_fraction: float = 0.2,
    masks: bool = True,
    overwrite: bool = False,
) -> ShapesReport:
    """Write the synthetic shapes data set (circles, squares, triangles) in a label format.

    Args:
        out_dir: Output folder; created when missing, must be empty unless ``overwrite``.
        num_images: Images in total (PNG, RGB).
        image_size: Side of the square images in pixels (32-2048).
        max_objects: Most shapes per image (each image has 1..max_objects).
        seed: Seed of everything drawn and of the split; same seed, same bytes.
        fmt: ``coco`` (polygons), ``yolo`` (segmentation polygons) or ``voc`` (boxes +
            ``SegmentationObject`` PNGs).
        val_fraction: Share of the images written as the ``val`` split (the rest is ``train``).
        masks: Write instance masks (polygons); False writes boxes only.
        overwrite: Replace a previous shapes build in ``out_dir`` (other files are kept).

    Returns:
        Counts per split and class.

    Raises:
        UsageError: Bad options or an unsuitable ``out_dir``.
    """
    import numpy as np
    from PIL import Image

    from visiona.data.detection.convert import write_dataset

    started = time.perf_counter()
    fmt = _validate(num_images, image_size, max_objects, seed, fmt, val_fraction)
    out_dir = Path(out_dir).expanduser()
    _prepare(out_dir, overwrite)

    order = np.random.default_rng([seed, 2**31 - 1]).permutation(num_images)
    n_val = round(num_images * val_fraction)
    if val_fraction > 0 and num_images >= 2:
        n_val = min(max(n_val, 1), num_images - 1)
    val = {int(i) for i in order[:n_val]}
    width = max(5, len(str(num_images - 1)))
    report = ShapesReport(out_dir=out_dir, format=fmt, image_size=image_size)
    with tempfile.TemporaryDirectory(prefix="visiona-shapes-") as staging:
        images_root = Path(staging)
        images: list[ImageAnnotation] = []
        for index in range(num_images):
            split = "val" if index in val else "train"
            pixels, shapes = draw_shapes_image(
                seed, index, image_size=image_size, max_objects=max_objects
            )
            file = f"{split}/shapes_{index:0{width}d}.png"
            (images_root / split).mkdir(exist_ok=True)
            Image.fromarray(pixels).save(images_root / file)
            objects = [shape_annotation(s, masks=masks) for s in shapes]
            images.append(ImageAnnotation(file, image_size, image_size, objects, split=split))
            report.images[split] = report.images.get(split, 0) + 1
            report.objects.setdefault(split, Counter()).update(o.class_id for o in objects)
        dataset = DetectionDataset(
            images_root=images_root, classes=SHAPE_CLASSES, images=images, source_format="shapes"
        )
        # Shapes with masks are for instance segmentation: YOLO gets polygon labels then.
        write_dataset(
            dataset, out_dir, fmt, overwrite=True, yolo_labels="polygons" if masks else "boxes"
        )
    report.images = {s: report.images[s] for s in ("train", "val") if s in report.images}
    report.objects = {s: report.objects[s] for s in report.images}
    manifest = {
        "created_by": "visiona",
        "name": "shapes",
        "title": "visiona synthetic shapes (circles, squares, triangles)",
        "format": fmt,
        "classes": list(SHAPE_CLASSES),
        "num_images": num_images,
        "image_size": image_size,
        "max_objects": max_objects,
        "seed": seed,
        "val_fraction": val_fraction,
        "masks": masks,
        "counts": {
            split: {
                "images": report.images[split],
                "objects": {SHAPE_CLASSES[c]: n for c, n in sorted(report.objects[split].items())},
            }
            for split in report.images
        },
        "license": "CC0-1.0 (generated data)",
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    report.seconds = time.perf_counter() - started
    return report
