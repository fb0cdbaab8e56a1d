"""Writing a :class:`DetectionDataset` as COCO instances JSON (+ copied images).

Layout: ``DIR/annotations/instances_<split>.json`` and ``DIR/images/<split>/<file>``; one image /
annotation / category per JSON line so the files are readable and diffable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from visiona.data.detection import _write
from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
    Problem,
)
from visiona.data.detection.masks import polygon_area, rle_area


def _round(value: float) -> float | int:
    rounded = round(float(value), 4)
    return int(rounded) if rounded.is_integer() else rounded


def _json_lines(document: dict[str, Any]) -> Iterator[str]:
    """COCO JSON with one image / annotation / category per line (readable, diffable, lined)."""
    yield "{\n"
    keys = list(document)
    for index, key in enumerate(keys):
        value = document[key]
        comma = "," if index < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            yield f"{json.dumps(key)}: [\n"
            for position, item in enumerate(value):
                yield json.dumps(item, separators=(",", ":"))
                yield ",\n" if position < len(value) - 1 else "\n"
            yield f"]{comma}\n"
        else:
            yield f"{json.dumps(key)}: {json.dumps(value)}{comma}\n"
    yield "}\n"


def coco_document(
    dataset: DetectionDataset,
    images: list[tuple[ImageAnnotation, str]],
    problems: list[Problem] | None = None,
) -> dict[str, Any]:
    """The COCO dict for ``images`` (pairs of annotation and ``file_name`` to write)."""
    # Keypoints belong to the categories whose objects carry them (all, when none does yet).
    keypoint_classes = {o.class_id for _, o in dataset.objects() if o.keypoints is not None}
    if dataset.keypoint_names and not keypoint_classes:
        keypoint_classes = set(range(len(dataset.classes)))
    categories = []
    for class_id, name in enumerate(dataset.classes):
        category: dict[str, Any] = {"id": class_id + 1, "name": name, "supercategory": ""}
        if dataset.keypoint_names and class_id in keypoint_classes:
            category["keypoints"] = list(dataset.keypoint_names)
            category["skeleton"] = [[a + 1, b + 1] for a, b in dataset.skeleton]
        categories.append(category)
    image_entries = []
    annotations = []
    for image_id, (image, file_name) in enumerate(images, start=1):
        image_entries.append(
            {"id": image_id, "file_name": file_name, "width": image.width, "height": image.height}
        )
        for obj in image.objects:
            if not _write.class_in_range(dataset, obj.class_id):
                _write.note(
                    problems, image.file, f"class id {obj.class_id} out of range; object skipped",
                    "class-out-of-range",
                )  # fmt: skip
                continue
            annotation = _annotation(obj, image_id, len(annotations) + 1)
            if (
                dataset.keypoint_names
                and obj.class_id in keypoint_classes
                and "keypoints" not in annotation
            ):
                annotation["keypoints"] = [0] * (3 * len(dataset.keypoint_names))
                annotation["num_keypoints"] = 0
            annotations.append(annotation)
    return {
        "info": {"description": f"written by visiona from {dataset.source_format or 'memory'}"},
        "licenses": [],
        "categories": categories,
        "images": image_entries,
        "annotations": annotations,
    }


def _annotation(obj: ObjectAnnotation, image_id: int, ann_id: int) -> dict[str, Any]:
    x, y, w, h = obj.xywh
    entry: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": obj.class_id + 1,
        "bbox": [_round(x), _round(y), _round(w), _round(h)],
    }
    if obj.rle is not None:
        counts = obj.rle["counts"]
        counts = counts.decode("ascii") if isinstance(counts, bytes) else counts
        entry["segmentation"] = {"size": [int(v) for v in obj.rle["size"]], "counts": counts}
        entry["area"] = rle_area(obj.rle)
    elif obj.polygons:
        entry["segmentation"] = [[_round(v) for v in poly] for poly in obj.polygons]
        entry["area"] = _round(sum(polygon_area(poly) for poly in obj.polygons))
    else:
        entry["segmentation"] = []
        entry["area"] = _round(max(w, 0.0) * max(h, 0.0))
    if obj.area is not None:  # the source's own area (COCO: the segment's) decides size buckets
        entry["area"] = _round(obj.area)
    entry["iscrowd"] = int(obj.iscrowd)
    if obj.keypoints is not None:
        entry["keypoints"] = [_round(v) for v in obj.keypoints]
        entry["num_keypoints"] = sum(1 for v in obj.keypoints[2::3] if v > 0)
    return entry


def annotation_file_name(split: str) -> str:
    """``instances_<split>.json`` (``instances.json`` without a split)."""
    return f"instances_{split}.json" if split else "instances.json"


def write_coco(
    dataset: DetectionDataset,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    problems: list[Problem] | None = None,
) -> Path:
    """Write ``dataset`` as COCO: ``annotations/instances_<split>.json`` + ``images/<split>/``.

    Images are copied (never moved); ``file_name`` is the path under ``images/``. Image and
    annotation ids count from 1, category ids are ``class_id + 1``; polygons and RLE masks
    (kept compressed or not, as read) go to ``segmentation``; ``area`` is the source's own
    ``area`` when it has one (COCO), else the mask's area (box area without a mask).

    Args:
        dataset: What to write (boxes xyxy absolute pixels).
        out_dir: New or empty folder (or any folder with ``overwrite``).
        overwrite: Write into a non-empty folder, replacing files of the same name.
        problems: When given, notes about skipped images and objects are appended to it.

    Returns:
        ``out_dir``.

    Raises:
        UsageError: ``out_dir`` is a file, or not empty without ``overwrite``.
    """
    out_dir = _write.prepare_out_dir(out_dir, overwrite=overwrite)
    names = _write.UniqueNames()
    per_split: dict[str, list[tuple[ImageAnnotation, str]]] = {}
    for image in _write.usable_images(dataset, problems, need_size=True):
        relpath = names.claim(_write.split_relpath(image))
        _write.copy_image(dataset.image_path(image), out_dir / "images" / relpath)
        per_split.setdefault(image.split, []).append((image, relpath.as_posix()))
    if not per_split:
        per_split[""] = []
    (out_dir / "annotations").mkdir(exist_ok=True)
    for split, images in per_split.items():
        document = coco_document(dataset, images, problems)
        target = out_dir / "annotations" / annotation_file_name(split)
        with open(target, "w", encoding="utf-8") as handle:
            handle.writelines(_json_lines(document))
    return out_dir
