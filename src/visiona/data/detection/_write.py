"""Helpers the writers share: output folders, image copies, unique names (internal)."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, Problem
from visiona.errors import UsageError


def prepare_out_dir(out_dir: str | Path, *, overwrite: bool) -> Path:
    """Create ``out_dir``; refuse a file, or a non-empty folder unless ``overwrite``.

    With ``overwrite`` files of the same name are replaced and every other file is kept.
    """
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file, not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise UsageError(
            f"{out_dir} is not empty; refusing to write a data set into it",
            hint="choose a new folder, or pass --overwrite to write over files of the same name",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def split_relpath(image: ImageAnnotation) -> PurePosixPath:
    """Where an image goes under an images folder: ``<split>/<name>`` (``<name>`` unsplit)."""
    name = PurePosixPath(image.name)
    parts = [p for p in name.parts if p not in ("", ".", "..", "/")]
    clean = PurePosixPath(*parts) if parts else PurePosixPath("image")
    return PurePosixPath(image.split) / clean if image.split else clean


class UniqueNames:
    """Hands out output paths, renaming ``a.png`` to ``a_1.png`` when its key is taken.

    Args:
        key: What must be unique (default: the path without suffix, case-insensitive, since
            label files and VOC ids drop the suffix).
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, path: PurePosixPath) -> PurePosixPath:
        """``path``, or ``path`` with ``_1``, ``_2``... added to its stem when taken."""
        candidate = path
        counter = 1
        while self._key(candidate) in self._used:
            candidate = path.with_name(f"{path.stem}_{counter}{path.suffix}")
            counter += 1
        self._used.add(self._key(candidate))
        return candidate

    @staticmethod
    def _key(path: PurePosixPath) -> str:
        return path.with_suffix("").as_posix().lower()


def copy_image(source: Path, destination: Path) -> None:
    """Copy (never move) an image, keeping its bytes; a no-op when both are the same file."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists() and destination.resolve() == source.resolve():
        return
    shutil.copyfile(source, destination)


def usable_images(
    dataset: DetectionDataset, problems: list[Problem] | None, *, need_size: bool
) -> list[ImageAnnotation]:
    """Images whose file exists (and whose size is known when ``need_size``); notes the rest."""
    kept = []
    for image in dataset.images:
        path = dataset.image_path(image)
        if not path.is_file():
            note(problems, image.file, f"image file not found ({path}); skipped", "missing-image")
            continue
        if need_size and (image.width <= 0 or image.height <= 0):
            note(problems, image.file, "image size unknown; skipped", "unreadable-image")
            continue
        kept.append(image)
    return kept


def note(problems: list[Problem] | None, file: str, message: str, kind: str) -> None:
    """Append a warning to ``problems`` when the caller collects them."""
    if problems is not None:
        problems.append(Problem(file, None, message, level="warning", kind=kind))


def class_in_range(dataset: DetectionDataset, class_id: int) -> bool:
    return 0 <= class_id < len(dataset.classes)
