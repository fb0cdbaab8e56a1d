"""The CLI conventions every command follows (ARCHITECTURE.md, "CLI conventions"), as reusable pieces.

- The model is always ``-m/--model``; ``--backend`` is only the runtime; ``-b`` only
  ``--batch-size``; ``-d`` only ``--data``.
- ``--save DIR`` for annotated images, ``-o/--output PATH`` for one file or run artefact,
  ``--json`` on every command that reports something.
- Lists are comma-separated and may also be repeated (``-b 1,16`` = ``-b 1 -b 16``).
- Outputs never overwrite each other: an existing name gets ``-2``, ``-3``... like run folders.
- Old spellings stay for one release as hidden options that print a one-line note.

``tests/cli/test_conventions.py`` walks every command and enforces the option names.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from visiona.errors import UsageError

DEPRECATED_HELP = "Deprecated spelling of {new}; removed in the next release."
"""Help text of every hidden deprecated alias (the convention test recognises them by it)."""

MODEL_FLAGS = ("--model", "-m")


def deprecated_option(*flags: str, new: str) -> Any:
    """A hidden option kept for one release; resolve it with :func:`take_deprecated`."""
    return typer.Option(None, *flags, hidden=True, help=DEPRECATED_HELP.format(new=new))


def take_deprecated(value: Any, old_value: Any, old: str, new: str) -> Any:
    """``value``, or ``old_value`` given through a deprecated spelling (with a one-line note).

    Raises:
        UsageError: Both spellings were given.
    """
    if old_value is None or old_value == [] or old_value is False:
        return value
    if value is not None and value != [] and value is not False:
        raise UsageError(f"{old} and {new} mean the same; give only {new}")
    from visiona.cli.output import stderr_console

    stderr_console().print(
        f"note: {old} is deprecated, use {new} (the old spelling goes away in the next release)",
        markup=False,
    )
    return old_value


def model_argument(positional: str | None, option: str | None) -> str:
    """The model of a command that takes it as ``MODEL`` or ``-m/--model`` (exactly one).

    Raises:
        UsageError: Neither or both were given.
    """
    if positional and option and positional != option:
        raise UsageError("give the model once: as MODEL or with -m/--model")
    model = positional or option
    if not model:
        raise UsageError("missing model: give a name, checkpoint or file as MODEL or -m/--model")
    return model


def split_list(values: str | Iterable[str] | None) -> list[str]:
    """``"a,b"``, ``["a,b", "c"]`` or ``["a", "b", "c"]`` → ``["a", "b", "c"]`` (blanks dropped)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def split_ints(values: str | Iterable[str] | None, option: str) -> list[int]:
    """Comma-separated and/or repeated positive whole numbers.

    Raises:
        UsageError: A part is not a positive whole number.
    """
    parts = split_list(values)
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        shown = ",".join(parts)
        raise UsageError(f"{option} must be whole numbers (e.g. 1,16), got {shown!r}") from None
    if any(number < 1 for number in numbers):
        raise UsageError(f"{option} must be positive, got {','.join(parts)!r}")
    return numbers


def fresh_path(path: Path) -> Path:
    """``path`` if nothing (or an empty folder) is there, else ``stem-2.ext``, ``stem-3.ext``...

    The same rule as training run folders (``runs/classify/x-2``).
    """
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return path
    stem, suffix = (path.name, "") if path.is_dir() else (path.stem, path.suffix)
    counter = 2
    while True:
        candidate = path.with_name(f"{stem}-{counter}{suffix}")
        if not candidate.exists():
            return candidate
        counter += 1
