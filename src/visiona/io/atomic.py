"""Atomic file writes: a full disk or a killed process never leaves half a file in place.

Every writer of a file people rely on (checkpoints, ``last.ckpt``, ONNX exports, face galleries,
dataset indexes and label files) goes through :func:`atomic_path`, :func:`atomic_write_bytes`
or :func:`atomic_write_text`:

1. the content goes to a hidden temporary file in the destination's folder
   (``.NAME.XXXX.tmp``: same file system, so the rename is atomic; the leading dot keeps folder
   scans from picking it up);
2. the temporary file is flushed to disk (``fsync``);
3. it is renamed over the destination (``os.replace``), and the folder is synced.

If anything fails before the rename, the temporary file is removed and the previous file, if
any, is untouched. A full disk (``ENOSPC``), a quota (``EDQUOT``) or a file-size limit
(``EFBIG``, e.g. ``ulimit -f``) becomes one :class:`DiskFullError` line naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from visiona.errors import VisionaError

__all__ = ["DiskFullError", "atomic_path", "atomic_write_bytes", "atomic_write_text"]

_FULL_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if code
)
# Libraries that write files themselves (safetensors in Rust, torch's zip writer in C++) report
# a full disk in their own words, without an errno.
_FULL_WORDS = (
    "no space left",
    "file too large",
    "disk quota",
    "storagefull",
    "filetoolarge",
    "file write failed",
)


class DiskFullError(VisionaError):
    """A file could not be written for lack of space (or a file-size limit); nothing was
    replaced."""

    exit_code = 1


def _is_disk_full(exc: BaseException) -> bool:
    """Whether an exception means "no room to write" (errno, or the library's wording)."""
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc).lower().replace(" ", "") if not isinstance(exc, OSError) else ""
    return any(word.replace(" ", "") in text for word in _FULL_WORDS)


def _fsync_file(path: Path) -> None:
    """Flushes a written file's content to disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Flushes a folder entry (the rename) to disk; not possible everywhere (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create_temporary(target: Path) -> Path:
    """Creates an empty hidden file beside ``target`` (mode 0o666 less the umask, as a plain
    ``open`` would; ``tempfile.mkstemp`` would make it 0o600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(candidate, flags, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"cannot create a temporary file beside {target}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; on normal exit it replaces ``path``.

    Write the whole file to the yielded path inside the ``with`` block (any library that takes
    a file name will do). If the block raises, the temporary file is removed and ``path`` keeps
    its previous content.

    Raises:
        DiskFullError: The disk is full or a file-size limit was hit (one line naming ``path``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _create_temporary(target)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, Exception) and _is_disk_full(exc):
            kept = "the previous file was kept" if target.exists() else "nothing was written"
            raise DiskFullError(
                f"could not write {target}: no space left on the disk or file-size limit reached "
                f"({kept})",
                hint="free some disk space (or raise `ulimit -f`) and run again",
            ) from None
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Raises:
        DiskFullError: No room to write; ``path`` is unchanged.
    """
    target = Path(path)
    with atomic_path(target) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_path`).

    Raises:
        DiskFullError: No room to write; ``path`` is unchanged.
    """
    return atomic_write_bytes(path, text.encode(encoding))
