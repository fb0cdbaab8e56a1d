"""Writing a :class:`DetectionDataset` as YOLO: ``data.yaml``, ``images/<split>/``, ``labels/<split>/``.

Label lines are boxes (``class cx cy w h``, the stored box as it is) unless polygons are asked
for (``labels="polygons"``, for instance segmentation): then objects with masks become polygon
lines (several parts joined by zero-width bridges, RLE masks traced along pixel edges) and
box-only objects 4-corner polygons (ultralytics reads a file with any polygon line as all
polygons); a YOLO polygon line has no box of its own, so a reader takes the polygon's bounds.
Data with keypoints is written as pose labels. Crowd / VOC ``difficult`` objects are not written
(YOLO has no such flag; ultralytics' converters skip them).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from visiona.data.detection import _write
from visiona.data.detection.annotations import (
    DetectionDataset,
    ObjectAnnotation,
    Problem,
    format_number,
)
from visiona.data.detection.masks import merge_polygons, object_polygons
from visiona.data.detection.yolo_yaml import SPLIT_KEYS
from visiona.errors import UsageError

LABEL_KINDS = ("boxes", "polygons")
"""What :func:`write_yolo` writes per object: ``boxes`` (detection) or ``polygons`` (segmentation)."""


def check_label_kind(labels: str) -> str:
    """``labels`` lower-cased when it is ``boxes`` or ``polygons``, else a :class:`UsageError`."""
    name = str(labels).strip().lower()
    if name not in LABEL_KINDS:
        raise UsageError(
            f"unknown YOLO label kind {labels!r}; choose one of: {', '.join(LABEL_KINDS)}",
            hint="boxes for detection, polygons for instance segmentation",
        )
    return name


def _split_key(split: str) -> str:
    lowered = split.lower()
    if lowered.startswith("train"):
        return "train"
    if lowered.startswith(("val", "valid")):
        return "val"
    if lowered.startswith("test"):
        return "test"
    return split


def _label_line(
    obj: ObjectAnnotation,
    width: int,
    height: int,
    mode: str,
    num_keypoints: int,
) -> tuple[str, int]:
    """One label line and how many mask holes were lost tracing an RLE."""
    x0, y0, x1, y1 = obj.box
    values: list[float]
    holes = 0
    if mode == "segment":
        polygons, holes = object_polygons(obj)
        if not polygons:
            polygons = [[x0, y0, x1, y0, x1, y1, x0, y1]]
        flat = merge_polygons(polygons)
        values = [v / (width if i % 2 == 0 else height) for i, v in enumerate(flat)]
    else:
        values = [
            (x0 + x1) / 2 / width,
            (y0 + y1) / 2 / height,
            (x1 - x0) / width,
            (y1 - y0) / height,
        ]
        if mode == "pose":
            points = list(obj.keypoints or [])
            points += [0.0] * (3 * num_keypoints - len(points))
            for i in range(num_keypoints):
                x, y, v = points[3 * i : 3 * i + 3]
                values += [x / width, y / height, v] if v > 0 else [0.0, 0.0, 0.0]
    text = " ".join([str(obj.class_id), *(format_number(v) for v in values)])
    return text, holes


def write_yolo(
    dataset: DetectionDataset,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    problems: list[Problem] | None = None,
    labels: str = "boxes",
) -> Path:
    """Write ``dataset`` as YOLO: ``data.yaml``, ``images/<split>/`` and ``labels/<split>/``.

    Keypoint data sets are written as pose labels (``kpt_shape: [K, 3]``); otherwise ``labels``
    decides: ``boxes`` keeps every object's stored box (masks are left out, with a note), and
    ``polygons`` writes masks as polygons (the box becomes the polygon's bounds when read back).
    Images are copied, never moved; every image gets a label file (empty for a background image).

    Args:
        dataset: What to write (boxes xyxy absolute pixels).
        out_dir: New or empty folder (or any folder with ``overwrite``).
        overwrite: Write into a non-empty folder, replacing files of the same name.
        problems: When given, notes about skipped images/objects and lost data are appended.
        labels: ``boxes`` (detection, the default) or ``polygons`` (instance segmentation).

    Returns:
        ``out_dir``.

    Raises:
        UsageError: ``out_dir`` is a file, or not empty without ``overwrite``; unknown ``labels``.
    """
    import yaml

    labels = check_label_kind(labels)
    out_dir = _write.prepare_out_dir(out_dir, overwrite=overwrite)
    mode = "pose" if dataset.has_keypoints else "segment" if labels == "polygons" else "detect"
    num_keypoints = dataset.num_keypoints
    names = _write.UniqueNames()
    split_folders: dict[str, list[str]] = {}
    crowd = masks_dropped = holes_lost = 0
    for image in _write.usable_images(dataset, problems, need_size=True):
        relpath = names.claim(_write.split_relpath(image))
        _write.copy_image(dataset.image_path(image), out_dir / "images" / relpath)
        lines = []
        for obj in image.objects:
            if obj.iscrowd:
                crowd += 1
                continue
            if not _write.class_in_range(dataset, obj.class_id):
                _write.note(
                    problems, image.file, f"class id {obj.class_id} out of range; object skipped",
                    "class-out-of-range",
                )  # fmt: skip
                continue
            if mode != "segment" and obj.has_mask:
                masks_dropped += 1
            line, holes = _label_line(obj, image.width, image.height, mode, num_keypoints)
            holes_lost += holes
            lines.append(line)
        label = out_dir / "labels" / PurePosixPath(relpath).with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        folder = "images/" + relpath.parts[0] if image.split else "images"
        key = _split_key(image.split) if image.split else "train"
        if folder not in split_folders.setdefault(key, []):
            split_folders[key].append(folder)
    if crowd:
        _write.note(
            problems,
            ".",
            f"{crowd} crowd/difficult objects not written (YOLO has no such flag)",
            "lost-data",
        )
    if masks_dropped:
        _write.note(
            problems,
            ".",
            f"{masks_dropped} masks not written "
            + (
                "(YOLO pose labels hold no masks)"
                if mode == "pose"
                else "(box labels; pass --yolo-labels polygons to write them)"
            ),
            "lost-data",
        )
    if holes_lost:
        _write.note(
            problems,
            ".",
            f"{holes_lost} mask holes filled (polygons cannot hold holes)",
            "lost-data",
        )

    data: dict[str, Any] = {}
    if not split_folders:
        split_folders["train"] = ["images"]
    for key in ("train", "val", "test", *sorted(set(split_folders) - set(SPLIT_KEYS))):
        if key in split_folders:
            folders = split_folders[key]
            data[key] = folders[0] if len(folders) == 1 else folders
    if "val" not in data:
        data["val"] = data.get("train", next(iter(data.values())))
    if "train" not in data:
        data["train"] = data["val"]
    ordered = {k: data[k] for k in ("train", "val", "test") if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    ordered["nc"] = len(dataset.classes)
    ordered["names"] = dict(enumerate(dataset.classes))
    if mode == "pose":
        ordered["kpt_shape"] = [num_keypoints, 3]
        names_list = list(dataset.keypoint_names) or [f"kpt{i}" for i in range(num_keypoints)]
        ordered["kpt_names"] = {i: list(names_list) for i in range(len(dataset.classes))}
        if dataset.skeleton:
            ordered["skeleton"] = [list(pair) for pair in dataset.skeleton]
    header = (
        f"# YOLO data set written by visiona (from {dataset.source_format or 'memory'}).\n"
        "# Paths are relative to this file's folder; labels/ mirrors images/.\n"
    )
    text = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, default_flow_style=False)
    (out_dir / "data.yaml").write_text(header + text, encoding="utf-8")
    return out_dir
