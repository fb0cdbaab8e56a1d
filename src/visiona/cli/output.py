"""Shared CLI output helpers: consoles, output files that never overwrite inputs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from visiona.errors import UsageError
from visiona.progress import PlainProgress, progress_bar

__all__ = ["OutputNamer", "PlainProgress", "progress_bar", "stderr_console", "stdout_console"]

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


class OutputNamer:
    """Picks unique output paths in ``folder`` for input files, never an input's own path.

    Files are named ``<stem>_<task><ext>`` (``cat_pose.jpg``), so two tasks saving to one folder
    keep both; a name already taken (on disk or earlier in the run) gets ``-2``, ``-3``... like
    run folders, so a re-run never overwrites an earlier one.

    Args:
        folder: Where outputs go (created on first use).
        inputs: Every input path of the run; an output that would land on one is refused up front.
        task: Put in every file name (``None``: the input's own name).
    """

    def __init__(self, folder: Path, inputs: Iterable[Path], task: str | None = None) -> None:
        self.folder = folder
        self.task = task
        self._inputs = {p.resolve() for p in inputs if isinstance(p, Path)}
        self._used: set[Path] = set()
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--save {str(folder)!r} is a file, not a folder")
        if folder.resolve() in {p.parent for p in self._inputs}:
            raise UsageError(
                f"--save {str(folder)!r} holds the input images; choose another folder",
                hint="visiona never writes next to (or over) your input files",
            )

    def path_for(self, source: str, suffix: str | None = None) -> Path:
        """A fresh output path named after ``source`` (``cat.jpg`` → ``cat_pose.jpg``...).

        Args:
            source: The input's name; its extension is kept when it is an image format.
            suffix: Force this extension (e.g. ``".png"``).
        """
        name = Path(source).name or "image"
        stem, ext = Path(name).stem, Path(name).suffix.lower()
        if suffix is not None:
            ext = suffix
        elif ext not in SAVE_SUFFIXES:
            ext = ".png"
        if self.task:
            stem = f"{stem}_{self.task}"
        candidate = self.folder / f"{stem}{ext}"
        counter = 2
        while candidate in self._used or candidate.resolve() in self._inputs or candidate.exists():
            candidate = self.folder / f"{stem}-{counter}{ext}"
            counter += 1
        self._used.add(candidate)
        self.folder.mkdir(parents=True, exist_ok=True)
        return candidate
