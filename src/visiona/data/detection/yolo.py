"""YOLO (ultralytics) txt labels with a ``data.yaml``: boxes, segmentation polygons, keypoints.

Layout written (and the usual one read)::

    DIR/data.yaml                    names, nc, train: images/train, val: images/val (, kpt_shape)
    DIR/images/<split>/<file>.png
    DIR/labels/<split>/<file>.txt    one object per line, values normalised to 0-1

Label lines (coordinates are fractions of the image width / height):

- box: ``class cx cy w h``
- polygon (segmentation): ``class x1 y1 x2 y2 x3 y3 ...``; the box is the polygon's bounds
- keypoints, when data.yaml has ``kpt_shape: [K, D]``: ``class cx cy w h`` then K points of
  ``px py`` (D = 2) or ``px py v`` (D = 3, COCO visibility)

Reading follows ultralytics: each split in data.yaml is a folder (searched recursively), a
``.txt`` list of image paths, or a list of those, relative to ``path`` (default: the yaml's
folder); an image's label file is its path with the last ``/images/`` replaced by ``/labels/``
and the suffix by ``.txt``. A missing or empty label file is a background image. Without a
data.yaml, ``images/<split>/`` + ``labels/<split>/`` folders and an optional ``classes.txt`` are
used. Image sizes come from the image headers (EXIF orientation applied).

Writing: objects with masks become polygon lines (several parts joined by zero-width bridges, RLE
masks traced along pixel edges); in a data set with masks, box-only objects become 4-corner
polygons (ultralytics reads a file with any polygon line as all polygons). Crowd / VOC
``difficult`` objects are not written (YOLO has no such flag; ultralytics' converters skip them).
"""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath
from typing import Any

from visiona.data.detection import _write
from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
    Problem,
    common_root,
    format_number,
    image_size,
    is_image_file,
    polygon_bounds,
    relative,
    scan_images,
)
from visiona.data.detection.masks import merge_polygons, object_polygons
from visiona.errors import ImageLoadError, InputNotFoundError
from visiona.io.atomic import atomic_write_text

YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
SPLIT_KEYS = ("train", "val", "test")
CLASS_FILES = ("classes.txt", "obj.names", "labels/classes.txt")


# --------------------------------------------------------------------------------------------
# data.yaml
# --------------------------------------------------------------------------------------------


def find_yaml(path: Path) -> Path | None:
    """The data.yaml of a YOLO folder (or ``path`` itself when it is a yaml file)."""
    if path.is_file():
        return path if path.suffix.lower() in (".yaml", ".yml") else None
    for name in YAML_NAMES:
        if (path / name).is_file():
            return path / name
    candidates = sorted(p for p in path.glob("*.y*ml") if p.suffix.lower() in (".yaml", ".yml"))
    for candidate in candidates:
        try:
            head = candidate.read_text(encoding="utf-8", errors="replace")[:65536]
        except OSError:
            continue
        if re.search(r"^(names|train)\s*:", head, re.MULTILINE):
            return candidate
    return None


def _key_line(text: str, key: str) -> int | None:
    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _parse_names(value: Any) -> tuple[str, ...] | str:
    """Class names from a yaml ``names`` list or ``{index: name}`` dict; an error text if bad."""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, dict):
        try:
            indexed = {int(k): str(v) for k, v in value.items()}
        except (TypeError, ValueError):
            return "names keys must be class indices 0, 1, 2, ..."
        if sorted(indexed) != list(range(len(indexed))):
            return (
                f"names indices must be 0..{len(indexed) - 1} without gaps, got {sorted(indexed)}"
            )
        return tuple(indexed[i] for i in range(len(indexed)))
    return "names must be a list or a {index: name} mapping"


class _YamlInfo:
    def __init__(self) -> None:
        self.root: Path | None = None
        self.names: tuple[str, ...] | None = None
        self.splits: dict[str, list[tuple[str, int | None]]] = {}
        self.kpt_shape: tuple[int, int] | None = None
        self.keypoint_names: tuple[str, ...] = ()
        self.skeleton: tuple[tuple[int, int], ...] = ()


def _read_yaml(yaml_path: Path, root: Path, problems: list[Problem]) -> _YamlInfo:
    import yaml

    info = _YamlInfo()
    where = relative(yaml_path, root)
    try:
        text = yaml_path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problems.append(
            Problem(
                where,
                line,
                f"not valid YAML: {getattr(error, 'problem', error)}",
                kind="broken-file",
            )
        )
        return info
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(where, None, f"cannot read ({error})", kind="broken-file"))
        return info
    if not isinstance(data, dict):
        problems.append(
            Problem(
                where, 1, "data.yaml must be a mapping (names:, train:, val:)", kind="broken-file"
            )
        )
        return info

    base = data.get("path")
    if isinstance(base, str) and base.strip():
        candidate = Path(base).expanduser()
        if not candidate.is_absolute():
            candidate = yaml_path.parent / candidate
        if candidate.is_dir():
            info.root = candidate.resolve()
        else:
            problems.append(
                Problem(
                    where,
                    _key_line(text, "path"),
                    f"path {base!r} is not a folder; using the yaml's folder",
                    level="warning",
                    kind="missing-folder",
                )
            )
    if "names" in data:
        names = _parse_names(data["names"])
        if isinstance(names, str):
            problems.append(Problem(where, _key_line(text, "names"), names, kind="broken-file"))
        else:
            info.names = names
    nc = data.get("nc")
    if nc is not None:
        if info.names is None and isinstance(nc, int) and nc > 0:
            info.names = tuple(str(i) for i in range(nc))
        elif info.names is not None and nc != len(info.names):
            problems.append(
                Problem(
                    where,
                    _key_line(text, "nc"),
                    f"nc is {nc} but names lists {len(info.names)} classes",
                    kind="class-mismatch",
                )
            )
    for key, value in data.items():
        if key not in SPLIT_KEYS or value in (None, ""):
            continue
        entries = value if isinstance(value, list) else [value]
        info.splits[key] = [(str(entry), _key_line(text, key)) for entry in entries]
    if "train" not in info.splits and "val" not in info.splits:
        problems.append(
            Problem(where, None, "data.yaml names no train: or val: images", kind="broken-file")
        )
    kpt = data.get("kpt_shape")
    if kpt is not None:
        if (
            isinstance(kpt, list)
            and len(kpt) == 2
            and all(isinstance(v, int) for v in kpt)
            and kpt[0] > 0
            and kpt[1] in (2, 3)
        ):
            info.kpt_shape = (kpt[0], kpt[1])
        else:
            problems.append(
                Problem(
                    where,
                    _key_line(text, "kpt_shape"),
                    "kpt_shape must be [K, 2] or [K, 3]",
                    kind="broken-file",
                )
            )
    kpt_names = data.get("kpt_names")
    if isinstance(kpt_names, dict) and kpt_names:
        kpt_names = next(iter(kpt_names.values()))
    if isinstance(kpt_names, list):
        info.keypoint_names = tuple(str(v) for v in kpt_names)
    skeleton = data.get("skeleton")
    if isinstance(skeleton, list):
        try:
            info.skeleton = tuple((int(a), int(b)) for a, b in skeleton)
        except (TypeError, ValueError):
            problems.append(
                Problem(
                    where,
                    _key_line(text, "skeleton"),
                    "skeleton must be [a, b] pairs",
                    level="warning",
                    kind="broken-file",
                )
            )
    return info


def _resolve_split_entry(entry: str, root: Path, yaml_dir: Path) -> Path | None:
    candidates = [Path(entry).expanduser()]
    if not candidates[0].is_absolute():
        candidates = [root / entry, yaml_dir / entry]
        stripped = entry
        while stripped.startswith("../"):  # Roboflow exports: "../train/images"
            stripped = stripped[3:]
            candidates += [root / stripped, yaml_dir / stripped]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def _images_of_entry(path: Path, problems: list[Problem], root: Path) -> list[Path]:
    if path.is_dir():
        return scan_images(path)
    if path.suffix.lower() == ".txt":
        images = []
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            problems.append(
                Problem(relative(path, root), None, f"cannot read ({error})", kind="broken-file")
            )
            return []
        for number, line in enumerate(lines, start=1):
            item = line.strip()
            if not item:
                continue
            candidate = Path(item)
            if not candidate.is_absolute():
                candidate = (path.parent / item) if item.startswith("./") else (root / item)
                if not candidate.exists():
                    candidate = path.parent / item
            if not candidate.is_file():
                problems.append(
                    Problem(
                        relative(path, root),
                        number,
                        f"image {item!r} not found",
                        kind="missing-image",
                    )
                )
                continue
            images.append(candidate)
        return images
    if is_image_file(path):
        return [path]
    return []


def label_path_for(image: Path) -> Path:
    """Ultralytics' rule: last ``/images/`` → ``/labels/``, suffix → ``.txt``."""
    parts = list(image.parts)
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "images":
            parts[index] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _discover_splits(root: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """Splits of a YOLO folder without data.yaml: images/<split>/, <split>/images/ or images/.

    Returns:
        ``{split: images}`` and the image folders scanned.
    """
    images = root / "images"
    splits: dict[str, list[Path]] = {}
    folders: list[Path] = []
    if images.is_dir():
        subdirs = sorted(p for p in images.iterdir() if p.is_dir())
        for sub in subdirs:
            splits[sub.name] = scan_images(sub)
            folders.append(sub)
        loose = sorted(p for p in images.iterdir() if is_image_file(p))
        if loose or not subdirs:
            splits[""] = loose
            folders.append(images)
        return splits, folders
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if (sub / "images").is_dir():
            splits[sub.name] = scan_images(sub / "images")
            folders.append(sub / "images")
    return splits, folders


def _class_file_names(root: Path) -> tuple[str, ...] | None:
    for name in CLASS_FILES:
        path = root / name
        if path.is_file():
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError):
                return None
            return tuple(line.strip() for line in lines if line.strip())
    return None


def read_yolo(path: str | Path) -> tuple[DetectionDataset, list[Problem]]:
    """Read a YOLO data set (a folder with data.yaml, the yaml file itself, or bare folders).

    Args:
        path: Folder holding ``data.yaml`` (or ``images/`` + ``labels/``), or a yaml file.

    Returns:
        The data set (boxes converted to xyxy absolute pixels with each image's size) and the
        problems found, each with the label file and line.

    Raises:
        InputNotFoundError: ``path`` does not exist.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    yaml_path = find_yaml(path)
    root = path if path.is_dir() else path.parent
    problems: list[Problem] = []
    info = _YamlInfo()
    split_images: dict[str, list[Path]] = {}
    image_dirs: list[Path] = []
    if yaml_path is not None:
        info = _read_yaml(yaml_path, root, problems)
        base = info.root or yaml_path.parent
        where = relative(yaml_path, root)
        used_entries: dict[Path, str] = {}
        for key, entries in info.splits.items():
            found: list[Path] = []
            for entry, line in entries:
                resolved = _resolve_split_entry(entry, base, yaml_path.parent)
                if resolved is None:
                    problems.append(
                        Problem(
                            where, line, f"{key}: {entry!r} does not exist", kind="missing-folder"
                        )
                    )
                    continue
                if resolved.resolve() in used_entries:
                    other = used_entries[resolved.resolve()]
                    problems.append(
                        Problem(
                            where,
                            line,
                            f"{key}: {entry!r} is the same as {other}'s images (read once, as "
                            f"{other})",
                            level="warning",
                            kind="duplicate-image",
                        )
                    )
                    continue
                used_entries[resolved.resolve()] = key
                if resolved.is_dir():
                    image_dirs.append(resolved)
                found.extend(_images_of_entry(resolved, problems, root))
            split_images[key] = found
    else:
        split_images, image_dirs = _discover_splits(root)
    names = info.names if info.names is not None else _class_file_names(root)

    images: list[ImageAnnotation] = []
    absolute: list[Path] = []
    seen: dict[Path, str] = {}
    label_files: set[Path] = set()
    kpt = info.kpt_shape
    max_class = -1
    for split, paths in split_images.items():
        for image_path in paths:
            key = image_path.resolve()
            if key in seen:
                if seen[key] != split:
                    problems.append(
                        Problem(
                            relative(image_path, root),
                            None,
                            f"listed in both {seen[key]} and {split}; kept in {seen[key]}",
                            level="warning",
                            kind="duplicate-image",
                        )
                    )
                continue
            seen[key] = split
            label = label_path_for(image_path)
            label_files.add(label.resolve())
            try:
                width, height = image_size(image_path)
            except ImageLoadError as error:
                problems.append(
                    Problem(relative(image_path, root), None, error.reason, kind="unreadable-image")
                )
                width, height = 0, 0
            image = ImageAnnotation(
                file=image_path.name,
                width=width,
                height=height,
                split=split,
                label_file=relative(label, root) if label.is_file() else None,
            )
            if label.is_file() and width and height:
                image.objects = _read_label_file(
                    label, relative(label, root), width, height, kpt, problems
                )
                max_class = max([max_class, *(o.class_id for o in image.objects)])
            images.append(image)
            absolute.append(image_path)

    problems.extend(_orphan_labels(root, split_images, image_dirs, label_files))
    if names is None:
        names = tuple(str(i) for i in range(max_class + 1))
        if yaml_path is not None or names:
            problems.append(
                Problem(
                    relative(yaml_path, root) if yaml_path else ".",
                    None,
                    "no class names (data.yaml names: or classes.txt); using numbers",
                    level="warning",
                    kind="no-names",
                )
            )
    images_root = common_root(absolute, root / "images") if absolute else root / "images"
    for image, image_path in zip(images, absolute, strict=True):
        image.file = relative(image_path, images_root)
    keypoint_names = info.keypoint_names
    if kpt and len(keypoint_names) != kpt[0]:
        keypoint_names = tuple(f"kpt{i}" for i in range(kpt[0]))
    dataset = DetectionDataset(
        images_root=images_root,
        classes=names,
        images=images,
        keypoint_names=keypoint_names,
        skeleton=info.skeleton,
        source_format="yolo",
        root=root,
    )
    return dataset, problems


def _orphan_labels(
    root: Path, split_images: dict[str, list[Path]], image_dirs: list[Path], label_files: set[Path]
) -> list[Problem]:
    """Label files in the labels folders mirroring the images folders that match no image."""
    folders = {label_path_for(p).parent for paths in split_images.values() for p in paths}
    recursive = {label_path_for(d / "_").parent for d in image_dirs}
    problems = []
    candidates: set[Path] = set()
    for folder in folders | recursive:
        if folder.is_dir() and "labels" in folder.parts:
            pattern = folder.rglob("*.txt") if folder in recursive else folder.glob("*.txt")
            candidates.update(pattern)
    for txt in sorted(candidates):
        if txt.name == "classes.txt" or txt.resolve() in label_files:
            continue
        problems.append(
            Problem(
                relative(txt, root),
                None,
                "label file has no image (no matching file in the images folder)",
                kind="missing-image",
            )
        )
    return problems


def _read_label_file(
    label: Path,
    where: str,
    width: int,
    height: int,
    kpt: tuple[int, int] | None,
    problems: list[Problem],
) -> list[ObjectAnnotation]:
    try:
        text = label.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(where, None, f"cannot read ({error})", kind="broken-file"))
        return []
    objects: list[ObjectAnnotation] = []
    seen: dict[str, int] = {}
    box_lines: list[int] = []
    polygon_lines = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        tokens = line.split()
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            problems.append(Problem(where, number, f"{bad!r} is not a number", kind="broken-line"))
            continue
        if not all(math.isfinite(v) for v in values):
            problems.append(
                Problem(where, number, "values must be finite numbers", kind="broken-line")
            )
            continue
        if not values[0].is_integer():
            problems.append(
                Problem(where, number, f"class {tokens[0]!r} is not an integer", kind="broken-line")
            )
            continue
        normalised = " ".join(tokens)
        if normalised in seen:
            problems.append(
                Problem(
                    where,
                    number,
                    f"duplicate of line {seen[normalised]}",
                    level="warning",
                    kind="duplicate-label",
                )
            )
        seen.setdefault(normalised, number)
        obj = _parse_values(values, width, height, kpt, where, number, problems)
        if obj is None:
            continue
        if obj.polygons and not kpt:
            polygon_lines += 1
        else:
            box_lines.append(number)
        objects.append(obj)
    if polygon_lines and box_lines and not kpt:
        for number in box_lines:
            problems.append(
                Problem(
                    where,
                    number,
                    "box line in a file of polygon lines (ultralytics reads every line as a polygon)",
                    level="warning",
                    kind="mixed-format",
                )
            )
    return objects


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_values(
    values: list[float],
    width: int,
    height: int,
    kpt: tuple[int, int] | None,
    where: str,
    number: int,
    problems: list[Problem],
) -> ObjectAnnotation | None:
    class_id = int(values[0])
    count = len(values)
    if kpt:
        k, dims = kpt
        expected = 5 + k * dims
        if count != expected:
            problems.append(
                Problem(
                    where,
                    number,
                    f"expected {expected} values (class, cx cy w h, {k} keypoints × {dims}), "
                    f"found {count}",
                    kind="broken-line",
                )
            )
            return None
        keypoints: list[float] = []
        for i in range(k):
            chunk = values[5 + i * dims : 5 + (i + 1) * dims]
            x, y = chunk[0] * width, chunk[1] * height
            # Without a visibility column, (0, 0) marks a keypoint that is not labelled.
            v = chunk[2] if dims == 3 else 0.0 if chunk[0] == 0 and chunk[1] == 0 else 2.0
            keypoints.extend((x, y, v))
        return ObjectAnnotation(
            _box(values[1:5], width, height), class_id, keypoints=keypoints, line=number
        )
    if count == 5:
        return ObjectAnnotation(_box(values[1:5], width, height), class_id, line=number)
    if count >= 7 and count % 2 == 1:
        points = values[1:]
        polygon = [v * (width if i % 2 == 0 else height) for i, v in enumerate(points)]
        box = polygon_bounds([polygon])
        assert box is not None
        return ObjectAnnotation(box, class_id, polygons=[polygon], line=number)
    problems.append(
        Problem(
            where,
            number,
            f"expected 5 values (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...), "
            f"found {count}",
            kind="broken-line",
        )
    )
    return None


def _box(cxcywh: list[float], width: int, height: int) -> tuple[float, float, float, float]:
    cx, cy, w, h = cxcywh
    return (
        (cx - w / 2) * width,
        (cy - h / 2) * height,
        (cx + w / 2) * width,
        (cy + h / 2) * height,
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


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
) -> Path:
    """Write ``dataset`` as YOLO: ``data.yaml``, ``images/<split>/`` and ``labels/<split>/``.

    The task follows the data: keypoints (``kpt_shape: [K, 3]``) when the data set has them,
    else polygons when any object has a mask, else boxes. Images are copied, never moved; every
    image gets a label file (empty for a background image).

    Args:
        dataset: What to write (boxes xyxy absolute pixels).
        out_dir: New or empty folder (or any folder with ``overwrite``).
        overwrite: Write into a non-empty folder, replacing files of the same name.
        problems: When given, notes about skipped images/objects and lost data are appended.

    Returns:
        ``out_dir``.

    Raises:
        UsageError: ``out_dir`` is a file, or not empty without ``overwrite``.
    """
    import yaml

    out_dir = _write.prepare_out_dir(out_dir, overwrite=overwrite)
    mode = "pose" if dataset.has_keypoints else "segment" if dataset.has_masks else "detect"
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
            if mode == "pose" and obj.has_mask:
                masks_dropped += 1
            line, holes = _label_line(obj, image.width, image.height, mode, num_keypoints)
            holes_lost += holes
            lines.append(line)
        label = out_dir / "labels" / PurePosixPath(relpath).with_suffix(".txt")
        atomic_write_text(label, "".join(f"{line}\n" for line in lines))
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
            f"{masks_dropped} masks not written (YOLO pose labels hold no masks)",
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
    atomic_write_text(out_dir / "data.yaml", header + text)
    return out_dir
