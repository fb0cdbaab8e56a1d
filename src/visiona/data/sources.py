"""Turning command-line style inputs (files, folders, glob patterns) into a list of image paths.

Nothing is decoded here: a file named explicitly is kept whatever its suffix, and
:func:`visiona.io.images.load_image` decides later whether it is an image.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from visiona.errors import InputNotFoundError, UsageError
from visiona.io.images import IMAGE_SUFFIXES, is_image_path

__all__ = ["expand_inputs", "gather_inputs"]

_GLOB_CHARS = frozenset("*?[")
_SUFFIX_LIST = " ".join(sorted(IMAGE_SUFFIXES))


def expand_inputs(
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    recursive: bool = True,
) -> list[Path]:
    """Expands files, folders and glob patterns into a list of image paths.

    Each input is, in this order of precedence:

    * an existing path that is not a folder: kept as given, even without an image suffix;
    * an existing folder: every file with an image suffix (:data:`IMAGE_SUFFIXES`,
      case-insensitive) below it, sorted; files and folders whose name starts with ``.`` are
      skipped, and so are symlinked folders;
    * a pattern containing ``*``, ``?`` or ``[``: expanded with ``glob.glob(recursive=True)``
      (``**`` matches any depth), keeping the matched files that have an image suffix, sorted;
      matched folders are not descended into, and hidden names only match patterns that start
      with ``.``.

    A leading ``~`` is expanded to the home folder. Results follow the order of ``inputs``; a
    path met again (same resolved path) is dropped, the first occurrence kept.

    Args:
        inputs: Paths, folders or glob patterns. A single string or path is taken as a one-item
            list.
        recursive: Whether folders are searched below their top level. Glob patterns are not
            affected (use ``**`` in the pattern).

    Returns:
        Paths as given (folder and glob results joined onto the input as written, not resolved).

    Raises:
        InputNotFoundError: If ``inputs`` is empty, a path does not exist and is no pattern, a
            folder holds no images, or a pattern matches no image files.
    """
    if isinstance(inputs, str | bytes | os.PathLike):
        inputs = [inputs]
    if not inputs:
        raise InputNotFoundError("no inputs given", "pass image files, folders or glob patterns")
    results: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        for path in _expand_one(item, recursive=recursive):
            key = _identity(path)
            if key not in seen:
                seen.add(key)
                results.append(path)
    return results


def _expand_one(item: str | os.PathLike[str], *, recursive: bool) -> list[Path]:
    """Expands a single input (see :func:`expand_inputs`)."""
    text = os.fsdecode(os.fspath(item))
    if text.startswith("~"):
        text = os.path.expanduser(text)
    path = Path(text)
    if path.is_dir():
        return _scan_folder(path, text, recursive=recursive)
    if path.exists():
        return [path]
    if _GLOB_CHARS.intersection(text):
        return _expand_glob(text)
    if path.is_symlink():
        raise InputNotFoundError(
            f"broken symbolic link: '{text}'", "the file it points to does not exist"
        )
    raise InputNotFoundError(
        f"path not found: '{text}'", "check the spelling and the current folder"
    )


def _scan_folder(folder: Path, text: str, *, recursive: bool) -> list[Path]:
    """Image files below a folder, sorted, hidden names skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [] if not recursive else [d for d in dirs if not d.startswith(".")]
        base = Path(root)
        found.extend(
            base / name for name in files if not name.startswith(".") and is_image_path(name)
        )
    if not found:
        hints = [f"image suffixes: {_SUFFIX_LIST} (names starting with '.' are skipped)"]
        if not recursive:
            hints.append("subfolders were not searched (recursive=False)")
        raise InputNotFoundError(
            f"folder '{text}' holds no images (looked for .jpg, .png, …)", hints
        )
    return sorted(found)


def _expand_glob(pattern: str) -> list[Path]:
    """Image files matched by a glob pattern, sorted."""
    matches = glob.glob(pattern, recursive=True)
    if not matches:
        raise InputNotFoundError(
            f"no files match '{pattern}'", "check the pattern, or quote it so the shell keeps it"
        )
    files = sorted(Path(m) for m in matches if os.path.isfile(m) and is_image_path(m))
    if not files:
        raise InputNotFoundError(
            f"pattern '{pattern}' matches no image files ({len(matches)} other entries)",
            f"image suffixes: {_SUFFIX_LIST}",
        )
    return files


def _identity(path: Path) -> Path:
    """The key used to spot the same file reached twice."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def gather_inputs(inputs: Any) -> list[Any]:
    """Flatten inputs into a list; paths, folders and globs are expanded to image files.

    A single image (path, array, PIL image, bytes) or a sequence of them is accepted.
    """
    items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    gathered: list[Any] = []
    for item in items:
        if isinstance(item, str | os.PathLike):
            gathered.extend(expand_inputs([item]))
        else:
            gathered.append(item)
    if not gathered:
        raise UsageError("no inputs given")
    return gathered
