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
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from visiona.data.detection import _write
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
from visiona.data.detection.masks import polygon_area, rle_area, rle_bounds, rle_counts
from visiona.errors import ImageLoadError, InputNotFoundError
from visiona.io.atomic import atomic_path

_SKIP_PREFIXES = ("captions_", "panoptic_", "image_info_unlabeled")
_ARRAYS = ("images", "annotations", "categories")


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
# JSON with line numbers
# --------------------------------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")


def _load_with_offsets(text: str) -> tuple[Any, dict[str, list[int]]]:
    """Parse JSON and note where each element of the top-level arrays starts (char offsets).

    Raises:
        json.JSONDecodeError: Invalid JSON (its ``lineno`` says where).
    """
    decoder = json.JSONDecoder()
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", pos):
        return json.loads(text), {}
    data: dict[str, Any] = {}
    offsets: dict[str, list[int]] = {}
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        pos += 1
    else:
        while True:
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key in _ARRAYS and text.startswith("[", pos):
                items: list[Any] = []
                starts: list[int] = []
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if text.startswith("]", pos):
                    pos += 1
                else:
                    while True:
                        starts.append(pos)
                        item, pos = decoder.raw_decode(text, pos)
                        items.append(item)
                        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                        if text.startswith(",", pos):
                            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                            continue
                        if text.startswith("]", pos):
                            pos += 1
                            break
                        raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                data[key], offsets[key] = items, starts
            else:
                data[key], pos = decoder.raw_decode(text, pos)
                offsets.pop(key, None)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("}", pos):
                pos += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if _WS.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise json.JSONDecodeError("Extra data", text, pos)
    return data, offsets


def _line_numbers(text: str, offsets: list[int]) -> list[int]:
    """1-based line numbers of ascending character offsets."""
    lines = []
    line, last = 1, 0
    for offset in offsets:
        line += text.count("\n", last, offset)
        last = offset
        lines.append(line)
    return lines


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
            data, offsets = _load_with_offsets(text)
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
        lines = {key: _line_numbers(text, starts) for key, starts in offsets.items()}
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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


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
    (kept compressed or not, as read) go to ``segmentation``; ``area`` is the mask's area (box
    area without a mask).

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
        with atomic_path(target) as partial, open(partial, "w", encoding="utf-8") as handle:
            handle.writelines(_json_lines(document))
    return out_dir
