"""COCO instances JSON: read and write boxes, polygons, RLE masks, keypoints and ``iscrowd``.

Layout written (and the first one looked for when reading a folder)::

    DIR/annotations/instances_<split>.json   (instances.json for a data set without splits)
    DIR/images/<split>/<file>                 (file_name in the JSON: "<split>/<file>")

Reading also accepts a single JSON file, ``DIR/*.json``, ``annotations/person_keypoints_*.json``
and Roboflow's ``DIR/<split>/_annotations.coco.json`` next to the images; ``file_name`` is looked
up under ``images/``, ``images/<split>/``, ``<split>/``, the JSON's folder and the root.

Conventions: COCO ``bbox`` is ``[x, y, width, height]`` in absolute pixels; visiona boxes are
``xyxy`` (``x + width``). Category ids (any integers, usually from 1) map to contiguous class ids
0..N-1 in ascending id order, keeping their names; written files use ``class_id + 1``. Keypoint
``skeleton`` pairs are 1-based in COCO and 0-based in :class:`DetectionDataset`. Compressed RLE
strings are read and written without pycocotools (see :mod:`visiona.data.detection.masks`).

Modules: this one finds and reads; :mod:`.coco_json` parses JSON keeping line numbers,
:mod:`.coco_write` writes (:func:`write_coco` is re-exported here).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
    Problem,
    common_root,
    image_size,
    polygon_bounds,
    relative,
)
from visiona.data.detection.coco_json import line_numbers, load_with_offsets
from visiona.data.detection.coco_write import annotation_file_name, coco_document, write_coco
from visiona.data.detection.masks import rle_bounds, rle_counts
from visiona.errors import ImageLoadError, InputNotFoundError

__all__ = [
    "annotation_file_name",
    "coco_document",
    "find_coco_files",
    "read_coco",
    "split_of",
    "write_coco",
]

_SKIP_PREFIXES = ("captions_", "panoptic_", "image_info_unlabeled")


# --------------------------------------------------------------------------------------------
# Finding the files
# --------------------------------------------------------------------------------------------


def _looks_like_coco(path: Path) -> bool:
    """Cheap test: a JSON file whose start mentions ``"images"`` and ``"file_name"``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return '"images"' in head and '"file_name"' in head


def find_coco_files(path: str | Path) -> list[Path]:
    """The COCO instances JSON files of a data set folder (or ``[path]`` for a JSON file)."""
    path = Path(path)
    if path.is_file():
        return [path]
    found: list[Path] = []
    annotations = path / "annotations"
    if annotations.is_dir():
        found = sorted(
            p
            for p in annotations.glob("*.json")
            if not p.name.startswith(_SKIP_PREFIXES) and _looks_like_coco(p)
        )
    if not found:
        found = sorted(p for p in path.glob("*.json") if _looks_like_coco(p))
    if not found:
        found = sorted(p for p in path.glob("*/_annotations.coco.json") if _looks_like_coco(p))
    # instances_X and person_keypoints_X describe the same split: prefer instances_X.
    splits: dict[str, Path] = {}
    for file in found:
        split = split_of(file)
        if split not in splits or file.name.startswith("instances"):
            splits[split] = file
    return sorted(splits.values())


def split_of(json_path: Path) -> str:
    """Split name of an annotation file: ``instances_train.json`` → ``train``."""
    if json_path.name == "_annotations.coco.json":
        return json_path.parent.name
    stem = json_path.stem
    for prefix in ("instances_", "person_keypoints_", "instances", "annotations_", "annotations"):
        if stem.startswith(prefix):
            stem = stem[len(prefix) :]
            break
    return stem.strip("_-.") if stem not in ("instances", "annotations", "coco") else ""


def _root_of(json_path: Path, given: Path) -> Path:
    if given.is_dir():
        return given
    if json_path.parent.name == "annotations":
        return json_path.parent.parent
    return json_path.parent


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _number_list(value: Any, length: int | None = None) -> list[float] | None:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    numbers = [float(v) for v in value]
    return numbers if all(math.isfinite(v) for v in numbers) else None


class _FileReader:
    """Reads one annotation file into images, collecting problems with file and line."""

    def __init__(self, json_path: Path, root: Path, problems: list[Problem]) -> None:
        self.path = json_path
        self.root = root
        self.where = relative(json_path, root)
        self.problems = problems
        self.split = split_of(json_path)

    def problem(self, line: int | None, message: str, kind: str, level: str = "error") -> None:
        self.problems.append(Problem(self.where, line, message, level=level, kind=kind))  # type: ignore[arg-type]

    def load(self) -> tuple[dict[str, Any], dict[str, list[int]]] | None:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            self.problem(None, f"not UTF-8 text ({error.reason})", "broken-file")
            return None
        except OSError as error:
            self.problem(None, f"cannot read ({error.strerror or error})", "broken-file")
            return None
        try:
            data, offsets = load_with_offsets(text)
        except json.JSONDecodeError as error:
            self.problem(
                error.lineno, f"not valid JSON: {error.msg} (column {error.colno})", "broken-file"
            )
            return None
        except RecursionError:
            self.problem(None, "JSON nested too deeply", "broken-file")
            return None
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            self.problem(
                1,
                "not a COCO instances file: needs an object with an 'images' list",
                "format-mismatch",
            )
            return None
        lines = {key: line_numbers(text, starts) for key, starts in offsets.items()}
        return data, lines

    def images_dir(self, images: list[Any]) -> Path:
        """The folder ``file_name`` is relative to: the candidate holding the most images."""
        parent = self.path.parent
        candidates = [
            self.root / "images",
            self.root / "images" / self.split if self.split else None,
            self.root / self.split if self.split else None,
            parent,
            self.root,
            parent / "images",
        ]
        for folder in (self.root / "images", self.root):  # e.g. images/train2017/
            if folder.is_dir():
                candidates += sorted(p for p in folder.iterdir() if p.is_dir())
        unique = list(dict.fromkeys(c for c in candidates if c is not None))
        names = [_file_name(i) for i in images[:50] if isinstance(i, dict) and "file_name" in i]
        best, best_hits = unique[0], 0
        for candidate in unique:
            hits = sum((candidate / name).is_file() for name in names)
            if hits > best_hits:
                best, best_hits = candidate, hits
        return best


def _category_map(
    readers: list[tuple[_FileReader, dict[str, Any], dict[str, list[int]]]],
) -> tuple[dict[int, int], tuple[str, ...], tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Category id → class id over every file, class names, keypoint names and skeleton."""
    names: dict[int, str] = {}
    keypoint_names: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    for reader, data, lines in readers:
        categories = data.get("categories", [])
        if not isinstance(categories, list):
            reader.problem(None, "'categories' must be a list", "broken-file")
            continue
        cat_lines = lines.get("categories", [])
        for index, category in enumerate(categories):
            line = cat_lines[index] if index < len(cat_lines) else None
            if (
                not isinstance(category, dict)
                or not isinstance(category.get("id"), int)
                or isinstance(category.get("id"), bool)
            ):
                reader.problem(line, "category needs an integer 'id'", "broken-line")
                continue
            cat_id = category["id"]
            name = str(category.get("name", cat_id))
            if cat_id in names and names[cat_id] != name:
                reader.problem(
                    line,
                    f"category id {cat_id} is {name!r} here but {names[cat_id]!r} elsewhere",
                    "class-mismatch",
                )
                continue
            names[cat_id] = name
            points = category.get("keypoints")
            if isinstance(points, list) and points and not keypoint_names:
                keypoint_names = tuple(str(p) for p in points)
                pairs = category.get("skeleton") or []
                try:
                    skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in pairs)
                except (TypeError, ValueError):
                    reader.problem(line, "skeleton must be a list of [a, b] pairs", "broken-line")
    ordered = sorted(names)
    mapping = {cat_id: index for index, cat_id in enumerate(ordered)}
    return mapping, tuple(names[c] for c in ordered), keypoint_names, skeleton


def read_coco(
    path: str | Path, *, images_dir: str | Path | None = None
) -> tuple[DetectionDataset, list[Problem]]:
    """Read a COCO data set: one instances JSON file or a folder of them (one per split).

    Args:
        path: A COCO JSON file, or a folder with ``annotations/*.json`` (see module docs).
        images_dir: Folder ``file_name`` is relative to (default: found automatically).

    Returns:
        The data set (boxes xyxy absolute pixels, contiguous class ids in category-id order) and
        the problems found, each with the JSON file and line (of the image, annotation or
        category entry; pretty-printed files give precise lines).

    Raises:
        InputNotFoundError: ``path`` does not exist or holds no COCO JSON file.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    files = find_coco_files(path)
    if not files:
        raise InputNotFoundError(
            f"{path} holds no COCO annotation file",
            hint="expected annotations/instances_<split>.json (or a *.json with 'images')",
        )
    root = _root_of(files[0], path)
    problems: list[Problem] = []
    loaded = []
    for file in files:
        reader = _FileReader(file, root, problems)
        result = reader.load()
        if result is not None:
            loaded.append((reader, *result))
    mapping, classes, keypoint_names, skeleton = _category_map(loaded)
    num_keypoints = len(keypoint_names)

    images: list[ImageAnnotation] = []
    absolute: list[Path] = []
    for reader, data, lines in loaded:
        folder = Path(images_dir).expanduser() if images_dir else reader.images_dir(data["images"])
        by_id: dict[int, ImageAnnotation] = {}
        image_lines = lines.get("images", [])
        for index, entry in enumerate(data["images"]):
            line = image_lines[index] if index < len(image_lines) else None
            image = _read_image_entry(reader, entry, line, folder, by_id)
            if image is None:
                continue
            by_id[entry["id"]] = image
            absolute.append(folder / _file_name(entry))
            images.append(image)
        annotations = data.get("annotations", [])
        if not isinstance(annotations, list):
            reader.problem(None, "'annotations' must be a list", "broken-file")
            continue
        ann_lines = lines.get("annotations", [])
        seen_ids: dict[Any, int | None] = {}
        for index, entry in enumerate(annotations):
            line = ann_lines[index] if index < len(ann_lines) else None
            obj = _read_annotation(reader, entry, line, by_id, mapping, num_keypoints)
            if obj is None:
                continue
            ann_id = entry.get("id")
            if ann_id is not None and ann_id in seen_ids:
                reader.problem(
                    line,
                    f"annotation id {ann_id} repeats line {seen_ids[ann_id]}",
                    "duplicate-label",
                    "warning",
                )
            seen_ids.setdefault(ann_id, line)
            by_id[entry["image_id"]].objects.append(obj)

    images_root = common_root(absolute, root / "images") if absolute else root / "images"
    for image, file in zip(images, absolute, strict=True):
        image.file = relative(file, images_root)
    dataset = DetectionDataset(
        images_root=images_root,
        classes=classes,
        images=images,
        keypoint_names=keypoint_names,
        skeleton=skeleton,
        source_format="coco",
        root=root,
    )
    return dataset, problems


def _file_name(entry: dict[str, Any]) -> str:
    """``file_name`` with ``/`` separators (Windows tools write backslashes)."""
    return str(entry["file_name"]).replace("\\", "/")


def _read_image_entry(
    reader: _FileReader,
    entry: Any,
    line: int | None,
    folder: Path,
    by_id: dict[int, ImageAnnotation],
) -> ImageAnnotation | None:
    if not isinstance(entry, dict) or "id" not in entry or "file_name" not in entry:
        reader.problem(line, "image entry needs 'id' and 'file_name'", "broken-line")
        return None
    if entry["id"] in by_id:
        reader.problem(line, f"image id {entry['id']} is listed twice", "duplicate-label")
        return None
    width, height = entry.get("width"), entry.get("height")
    valid = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height))
    if not valid:
        try:
            width, height = image_size(folder / _file_name(entry))
        except ImageLoadError:
            width, height = 0, 0
        reader.problem(
            line,
            f"image {entry['file_name']!r} has no valid width/height; "
            + ("read from the file" if width else "and the file cannot be read"),
            "broken-line",
            "warning" if width else "error",
        )
    return ImageAnnotation(
        file=_file_name(entry),
        width=int(width or 0),
        height=int(height or 0),
        split=reader.split,
        label_file=reader.where,
        line=line,
    )


def _read_annotation(
    reader: _FileReader,
    entry: Any,
    line: int | None,
    by_id: dict[int, ImageAnnotation],
    mapping: dict[int, int],
    num_keypoints: int,
) -> ObjectAnnotation | None:
    if not isinstance(entry, dict):
        reader.problem(line, "annotation is not a JSON object", "broken-line")
        return None
    label = f"annotation {entry['id']}" if "id" in entry else "annotation"
    image_id = entry.get("image_id")
    if image_id not in by_id:
        reader.problem(
            line,
            f"{label} refers to image id {image_id!r}, which is not in 'images'",
            "missing-image",
        )
        return None
    category = entry.get("category_id")
    if category not in mapping:
        reader.problem(
            line,
            f"{label} has category_id {category!r}, which is not in 'categories' "
            f"(class id out of range)",
            "class-out-of-range",
        )
        return None
    image = by_id[image_id]
    polygons, rle = _read_segmentation(reader, entry.get("segmentation"), line, label, image)
    box = None
    if "bbox" in entry:
        xywh = _number_list(entry["bbox"], 4)
        if xywh is None:
            reader.problem(
                line, f"{label}: bbox must be 4 numbers [x, y, width, height]", "broken-line"
            )
            return None
        box = (xywh[0], xywh[1], xywh[0] + xywh[2], xywh[1] + xywh[3])
    elif polygons:
        box = polygon_bounds(polygons)
    elif rle is not None:
        box = rle_bounds(rle)
    if box is None:
        reader.problem(line, f"{label} has no bbox and no usable segmentation", "broken-line")
        return None
    keypoints = None
    if entry.get("keypoints") is not None:
        keypoints = _number_list(entry["keypoints"])
        if keypoints is None or len(keypoints) % 3:
            reader.problem(
                line, f"{label}: keypoints must be x, y, v number triples", "broken-line"
            )
            keypoints = None
        elif num_keypoints and len(keypoints) != 3 * num_keypoints:
            reader.problem(
                line,
                f"{label} has {len(keypoints) // 3} keypoints, its category declares "
                f"{num_keypoints}",
                "broken-line",
            )
            keypoints = None
    area = entry.get("area")
    if area is not None and not (
        isinstance(area, int | float) and not isinstance(area, bool) and math.isfinite(area)
    ):
        reader.problem(
            line, f"{label}: area must be a number, not {area!r}; ignored", "broken-line", "warning"
        )
        area = None
    crowd = entry.get("iscrowd", 0)
    if crowd not in (0, 1, True, False):
        reader.problem(
            line, f"{label}: iscrowd must be 0 or 1, not {crowd!r}", "broken-line", "warning"
        )
    return ObjectAnnotation(
        box=box,
        class_id=mapping[category],
        polygons=polygons,
        rle=rle,
        keypoints=keypoints,
        iscrowd=bool(crowd),
        line=line,
        area=area,
    )


def _read_segmentation(
    reader: _FileReader, value: Any, line: int | None, label: str, image: ImageAnnotation
) -> tuple[list[list[float]] | None, dict[str, Any] | None]:
    if value is None or value == []:
        return None, None
    if isinstance(value, dict):
        try:
            rle_counts(value)
        except ValueError as error:
            reader.problem(line, f"{label}: bad RLE segmentation ({error})", "broken-line")
            return None, None
        size = [int(v) for v in value["size"]]
        if image.width and image.height and size != [image.height, image.width]:
            reader.problem(
                line,
                f"{label}: RLE size {size[1]}×{size[0]} differs from the image "
                f"{image.width}×{image.height}",
                "size-mismatch",
            )
            return None, None
        counts = value["counts"]
        return None, {
            "size": size,
            "counts": counts.decode() if isinstance(counts, bytes) else counts,
        }
    if isinstance(value, list):
        parts = [value] if value and not isinstance(value[0], list) else value
        polygons = []
        for part in parts:
            numbers = _number_list(part)
            if numbers is None or len(numbers) % 2 or len(numbers) < 6:
                reader.problem(
                    line,
                    f"{label}: polygon must be 3+ x, y number pairs; dropped",
                    "broken-line",
                )
                continue
            polygons.append(numbers)
        return polygons or None, None
    reader.problem(line, f"{label}: segmentation must be polygons or an RLE object", "broken-line")
    return None, None
