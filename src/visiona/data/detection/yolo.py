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
data.yaml, or with one naming no ``train:`` / ``val:`` (only ``nc`` / ``names``, as some tools
write it; a warning says so), ``images/<split>/`` + ``labels/<split>/`` (or ``images/`` +
``labels/``) folders are read; class names then come from the yaml, else an optional
``classes.txt``. Image sizes come from the image headers (EXIF orientation applied).

Modules: this one reads; :mod:`.yolo_yaml` parses data.yaml, :mod:`.yolo_labels` the label
lines, :mod:`.yolo_write` writes (:func:`write_yolo` is re-exported here).
"""

from __future__ import annotations

from pathlib import Path

from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    Problem,
    common_root,
    image_size,
    is_image_file,
    relative,
    scan_images,
)
from visiona.data.detection.yolo_labels import read_label_file
from visiona.data.detection.yolo_write import LABEL_KINDS, write_yolo
from visiona.data.detection.yolo_yaml import (
    SPLIT_KEYS,
    YAML_NAMES,
    YamlInfo,
    find_yaml,
    images_of_entry,
    label_path_for,
    read_data_yaml,
    resolve_split_entry,
)
from visiona.errors import ImageLoadError, InputNotFoundError

__all__ = [
    "CLASS_FILES",
    "LABEL_KINDS",
    "SPLIT_KEYS",
    "YAML_NAMES",
    "find_yaml",
    "label_path_for",
    "read_yolo",
    "write_yolo",
]

CLASS_FILES = ("classes.txt", "obj.names", "labels/classes.txt")


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
    info = YamlInfo()
    split_images: dict[str, list[Path]] = {}
    image_dirs: list[Path] = []
    if yaml_path is not None:
        info = read_data_yaml(yaml_path, root, problems)
        base = info.root or yaml_path.parent
        where = relative(yaml_path, root)
        used_entries: dict[Path, str] = {}
        for key, entries in info.splits.items():
            found: list[Path] = []
            for entry, line in entries:
                resolved = resolve_split_entry(entry, base, yaml_path.parent)
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
                found.extend(images_of_entry(resolved, problems, root))
            split_images[key] = found
        if not info.splits:
            # Other tools write data.yaml with only nc / names: use the usual folders instead.
            split_images, image_dirs = _discover_splits(base)
            found_any = any(split_images.values())
            problems.append(
                Problem(
                    where,
                    None,
                    "data.yaml names no train: or val: images (ultralytics needs them); "
                    + (
                        f"read the folders {', '.join(relative(d, root) for d in image_dirs)}"
                        if found_any
                        else "no images/<split>/ or images/ folder with images beside it either"
                    ),
                    level="warning" if found_any else "error",
                    kind="no-splits" if found_any else "broken-file",
                )
            )
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
                image.objects = read_label_file(
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
