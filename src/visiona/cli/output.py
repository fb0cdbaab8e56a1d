"""Shared CLI output helpers: consoles, output files that never overwrite inputs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from visiona.errors import UsageError

SAVE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def stdout_console() -> Console:
    """Console for results; piped output gets wide lines instead of 80-column wrapping."""
    import os
    import sys

    width = None
    if not sys.stdout.isatty():
        width = max(int(os.environ.get("COLUMNS", "0") or 0), 180)
    return Console(highlight=False, width=width)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _real(path: Path) -> Path:
    """The resolved path; never raises, even for a symbolic link loop."""
    return Path(os.path.realpath(path))


def scanned_folders(paths: Iterable[str | Path]) -> list[Path]:
    """The command-line inputs that are folders (searched with their subfolders)."""
    folders = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            folders.append(path)
    return folders


class OutputNamer:
    """Picks unique output paths in ``folder`` for input files, never an input's own path.

    Args:
        folder: Where outputs go (created on first use).
        inputs: Every input path of the run; an output that would land on one is refused up front.
        scanned: Input folders searched recursively; ``folder`` inside one of them is refused.
    """

    def __init__(self, folder: Path, inputs: Iterable[Path], scanned: Iterable[Path] = ()) -> None:
        self.folder = folder
        self._inputs = {_real(p) for p in inputs if isinstance(p, Path)}
        self._used: set[Path] = set()
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--save {str(folder)!r} is a file, not a folder")
        if _real(folder) in {p.parent for p in self._inputs}:
            raise UsageError(
                f"--save {str(folder)!r} holds the input images; choose another folder",
                hint="visiona never writes next to (or over) your input files",
            )
        target = _real(folder)
        for root in scanned:
            if target.is_relative_to(_real(root)):
                raise UsageError(
                    f"--save {str(folder)!r} is inside the input folder {str(root)!r}, which is "
                    "scanned with its subfolders; choose a folder outside it",
                    hint="otherwise the next run would read the annotated images as inputs",
                )

    def path_for(self, source: str) -> Path:
        """A fresh output path named after ``source`` (``cat.jpg`` → ``cat.jpg``, ``cat_1.jpg``...)."""
        name = Path(source).name or "image"
        stem, suffix = Path(name).stem, Path(name).suffix.lower()
        if suffix not in SAVE_SUFFIXES:
            suffix = ".png"
        candidate = self.folder / f"{stem}{suffix}"
        counter = 1
        while candidate in self._used or _real(candidate) in self._inputs:
            candidate = self.folder / f"{stem}_{counter}{suffix}"
            counter += 1
        self._used.add(candidate)
        self.folder.mkdir(parents=True, exist_ok=True)
        return candidate
