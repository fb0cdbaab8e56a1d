"""Convert detection data sets between COCO, YOLO and Pascal VOC; tell a folder's format.

``convert`` reads the source into a :class:`DetectionDataset` and writes it with the target's
writer into a new folder: images are copied (never moved), and the source is never modified.
What the target cannot hold (masks in VOC are kept as PNGs, but keypoints are not; crowd objects
in YOLO) is reported in :attr:`ConvertReport.notes`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from visiona.data.detection.annotations import FORMATS, DetectionDataset, Problem
from visiona.errors import InputNotFoundError, UsageError

Reader = Callable[[Path], tuple[DetectionDataset, list[Problem]]]
SKIP_KINDS = frozenset({"missing-image", "unreadable-image", "class-out-of-range"})
"""Kinds of writer notes that mean input was left out (not merely a format limitation)."""
Writer = Callable[..., Path]


def _reader(fmt: str) -> Reader:
    if fmt == "coco":
        from visiona.data.detection.coco import read_coco

        return read_coco
    if fmt == "yolo":
        from visiona.data.detection.yolo import read_yolo

        return read_yolo
    from visiona.data.detection.voc import read_voc

    return read_voc


def _writer(fmt: str) -> Writer:
    if fmt == "coco":
        from visiona.data.detection.coco import write_coco

        return write_coco
    if fmt == "yolo":
        from visiona.data.detection.yolo import write_yolo

        return write_yolo
    from visiona.data.detection.voc import write_voc

    return write_voc


def check_format_name(fmt: str, option: str = "--format") -> str:
    """``fmt`` lower-cased when it is a known format, else a :class:`UsageError`."""
    name = fmt.strip().lower()
    if name not in FORMATS:
        raise UsageError(
            f"unknown label format {fmt!r} for {option}; choose one of: {', '.join(FORMATS)}"
        )
    return name


def detect_formats(path: str | Path) -> list[tuple[str, str]]:
    """Every format ``path`` looks like, with the evidence: ``[("yolo", "data.yaml"), ...]``."""
    from visiona.data.detection.annotations import relative
    from visiona.data.detection.coco import find_coco_files
    from visiona.data.detection.voc import voc_root
    from visiona.data.detection.yolo import find_yaml

    path = Path(path).expanduser()
    found: list[tuple[str, str]] = []
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json":
            found.append(("coco", path.name))
        elif suffix in (".yaml", ".yml"):
            found.append(("yolo", path.name))
        return found
    if not path.is_dir():
        return found
    voc = voc_root(path)
    if voc is not None:
        found.append(("voc", relative(voc / "Annotations", path) + "/"))
    yaml_path = find_yaml(path)
    if yaml_path is not None:
        found.append(("yolo", relative(yaml_path, path)))
    elif (path / "labels").is_dir() and any((path / "labels").rglob("*.txt")):
        found.append(("yolo", "labels/"))
    coco = find_coco_files(path)
    if coco:
        found.append(("coco", relative(coco[0], path)))
    return found


def detect_format(path: str | Path) -> str:
    """The one format ``path`` is in: ``coco``, ``yolo`` or ``voc``.

    Raises:
        InputNotFoundError: ``path`` does not exist.
        UsageError: No format or several formats match (pass the format explicitly).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    found = detect_formats(path)
    if not found:
        raise UsageError(
            f"cannot tell the label format of {path}",
            hint=[
                "COCO: annotations/instances_<split>.json; YOLO: data.yaml + labels/; "
                "VOC: Annotations/*.xml",
                "or name it: --from coco|yolo|voc (convert), --format (check)",
            ],
        )
    formats = list(dict.fromkeys(fmt for fmt, _ in found))
    if len(formats) > 1:
        evidence = ", ".join(f"{fmt} ({why})" for fmt, why in found)
        raise UsageError(
            f"{path} looks like several label formats: {evidence}",
            hint="name the one to read: --from (convert) or --format (check)",
        )
    return formats[0]


def read_dataset(
    path: str | Path, fmt: str | None = None
) -> tuple[DetectionDataset, list[Problem]]:
    """Read a data set in ``fmt`` (detected when None); returns it and the problems found."""
    fmt = check_format_name(fmt) if fmt else detect_format(path)
    return _reader(fmt)(Path(path).expanduser())


def write_dataset(
    dataset: DetectionDataset,
    out_dir: str | Path,
    fmt: str,
    *,
    overwrite: bool = False,
    problems: list[Problem] | None = None,
    yolo_labels: str = "boxes",
) -> Path:
    """Write ``dataset`` in ``fmt`` (``coco``, ``yolo`` or ``voc``) into ``out_dir``.

    ``yolo_labels`` (``boxes`` or ``polygons``) is what YOLO label lines hold.
    """
    fmt = check_format_name(fmt)
    options = {"labels": yolo_labels} if fmt == "yolo" else {}
    return _writer(fmt)(dataset, out_dir, overwrite=overwrite, problems=problems, **options)


@dataclass
class ConvertReport:
    """What :func:`convert` did.

    Attributes:
        source: The source path.
        destination: The folder written.
        from_format: Format read.
        to_format: Format written.
        images: Images in the source data set.
        objects: Objects in the source data set.
        problems: Problems found in the source: unreadable lines (skipped) and labels
            :func:`~visiona.data.detection.check.validate_dataset` flags (written as they are).
        notes: What the writer skipped or could not keep (warnings).
        seconds: Wall time.
        source_root: The folder the problems' file names are relative to.
    """

    source: Path
    destination: Path
    from_format: str
    to_format: str
    images: int
    objects: int
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    source_root: Path | None = None

    @property
    def errors(self) -> list[Problem]:
        """Source problems at level ``error``: broken lines skipped, or wrong labels."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def skipped(self) -> list[Problem]:
        """Writer notes about images or objects left out (missing/unreadable image, bad class)."""
        return [n for n in self.notes if n.kind in SKIP_KINDS]

    @property
    def images_written(self) -> int:
        """Images written to the destination (the source's minus those the writer skipped)."""
        lost = sum(1 for n in self.notes if n.kind in ("missing-image", "unreadable-image"))
        return max(self.images - lost, 0)

    @property
    def ok(self) -> bool:
        """True when something was converted and no broken input was skipped or copied."""
        return self.images_written > 0 and not self.errors and not self.skipped


def _guard_paths(source: Path, destination: Path) -> None:
    src, dst = source.resolve(), destination.resolve()
    if dst == src or dst.is_relative_to(src):
        raise UsageError(
            f"the destination {destination} is inside the source {source}",
            hint="choose a folder outside the source data set (the source is never modified)",
        )
    if src.is_relative_to(dst):
        raise UsageError(f"the source {source} is inside the destination {destination}")


def convert(
    src: str | Path,
    dst: str | Path,
    from_format: str | None = None,
    to_format: str = "coco",
    *,
    overwrite: bool = False,
    yolo_labels: str = "boxes",
) -> ConvertReport:
    """Convert a detection data set between ``coco``, ``yolo`` and ``voc`` (any direction).

    Boxes keep their xyxy absolute-pixel values (VOC rounds to whole pixels, YOLO stores
    fractions with 6 decimals), class names and order, splits, masks and keypoints where the
    target format holds them. Images are copied; the source is read only.

    Args:
        src: Source data set folder (or a COCO JSON / YOLO yaml file).
        dst: New (or empty) destination folder, not inside the source.
        from_format: Source format; detected from the files when None.
        to_format: Target format.
        overwrite: Allow a non-empty destination (files of the same name are replaced).
        yolo_labels: For ``to_format="yolo"``: ``boxes`` (default; each object's stored box,
            masks left out) or ``polygons`` (masks as polygons, for instance segmentation).

    Returns:
        A :class:`ConvertReport` with the source's problems and the writer's notes.

    Raises:
        InputNotFoundError: ``src`` does not exist.
        UsageError: Unknown format, undetectable source, or a bad destination.
    """
    started = time.perf_counter()
    source = Path(src).expanduser()
    destination = Path(dst).expanduser()
    if not source.exists():
        raise InputNotFoundError(f"{source} does not exist")
    to_format = check_format_name(to_format, "--to")
    if to_format == "yolo":
        from visiona.data.detection.yolo_write import check_label_kind

        yolo_labels = check_label_kind(yolo_labels)
    from_format = check_format_name(from_format, "--from") if from_format else detect_format(source)
    source_dir = source if source.is_dir() else source.parent
    _guard_paths(source_dir, destination)
    dataset, problems = _reader(from_format)(source)
    from visiona.data.detection.validate import validate_dataset

    problems = [*problems, *validate_dataset(dataset)]
    for folder in {dataset.images_root, dataset.root}:
        if folder is not None and folder.exists():
            _guard_paths(folder, destination)
    notes: list[Problem] = []
    written = write_dataset(
        dataset, destination, to_format, overwrite=overwrite, problems=notes,
        yolo_labels=yolo_labels,
    )  # fmt: skip
    return ConvertReport(
        source=source,
        destination=written,
        from_format=from_format,
        to_format=to_format,
        images=len(dataset.images),
        objects=dataset.num_objects,
        problems=problems,
        notes=notes,
        seconds=time.perf_counter() - started,
        source_root=dataset.root,
    )
