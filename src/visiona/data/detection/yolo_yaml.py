"""YOLO ``data.yaml``: finding it, reading names / splits / keypoint shape, and the paths it names.

A split entry is a folder (searched recursively), a ``.txt`` list of image paths, or an image,
relative to ``path`` (default: the yaml's folder). An image's label file follows ultralytics'
rule (:func:`label_path_for`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from visiona.data.detection.annotations import Problem, is_image_file, relative, scan_images

YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
SPLIT_KEYS = ("train", "val", "test")


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


class YamlInfo:
    def __init__(self) -> None:
        self.root: Path | None = None
        self.names: tuple[str, ...] | None = None
        self.splits: dict[str, list[tuple[str, int | None]]] = {}
        self.kpt_shape: tuple[int, int] | None = None
        self.keypoint_names: tuple[str, ...] = ()
        self.skeleton: tuple[tuple[int, int], ...] = ()


def read_data_yaml(yaml_path: Path, root: Path, problems: list[Problem]) -> YamlInfo:
    import yaml

    info = YamlInfo()
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
    # No split keys at all (a yaml with only nc / names): the reader falls back to the folders.
    if info.splits and "train" not in info.splits and "val" not in info.splits:
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


def resolve_split_entry(entry: str, root: Path, yaml_dir: Path) -> Path | None:
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


def images_of_entry(path: Path, problems: list[Problem], root: Path) -> list[Path]:
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
