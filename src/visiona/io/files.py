"""Reading image files safely: regular files only, reads bounded by a byte limit.

A path that is a character device (``/dev/zero``), a FIFO (even one named ``x.jpg``), a socket
or a folder is refused from ``os.stat`` alone, before anything is opened, so such a path can
neither fill memory nor hang the run. The file is opened with ``O_NONBLOCK`` (a FIFO swapped in
after the check cannot block ``open``), checked again with ``fstat`` on the open descriptor, and
read up to the byte limit plus one byte.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from typing import IO, Any

from visiona.errors import ImageLoadError
from visiona.io.limits import _CORRUPT_HINT, _pil_message

_CHUNK = 1 << 20


def _open_fd(path: str | os.PathLike[str]) -> int:
    """``os.open`` read-only, non-blocking (a FIFO must never block), close-on-exec."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    return os.open(path, flags)


def _kind(mode: int) -> str:
    """Names a non-regular file type for the error message."""
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_special(name: str, mode: int) -> None:
    """Raises for anything that is not a regular file."""
    if stat.S_ISDIR(mode):
        raise ImageLoadError(
            name, "is a directory, not an image file", "pass image files, or expand folders first"
        )
    if not stat.S_ISREG(mode):
        kind = _kind(mode)
        reason = kind if kind == "not a regular file" else f"is {kind}, not a regular file"
        raise ImageLoadError(name, reason, "pass an image file; devices and pipes are never read")


def _stat_error(path: str | os.PathLike[str], name: str, exc: OSError) -> ImageLoadError:
    """The error for a path ``os.stat`` (or ``open``) could not follow."""
    if exc.errno == errno.ELOOP:
        return ImageLoadError(
            name,
            "symbolic link loop (the link leads back to itself)",
            "replace the link with the image file it should point to",
        )
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return ImageLoadError(
                name,
                f"broken symbolic link (its target '{target}' does not exist)",
                "fix or remove the link",
            )
        return ImageLoadError(name, "file not found", "check the path and the current folder")
    if isinstance(exc, PermissionError):
        return ImageLoadError(name, "permission denied", "check the file's permissions")
    return ImageLoadError(name, f"cannot open file ({exc.strerror or exc})")


def read_image_file(path: str | os.PathLike[str], name: str, max_bytes: int) -> bytes:
    """Reads a regular file of at most ``max_bytes`` bytes.

    Args:
        path: The file (symbolic links are followed).
        name: Display name for errors.
        max_bytes: Largest size accepted; at most ``max_bytes + 1`` bytes are ever read.

    Returns:
        The file content (never empty).

    Raises:
        ImageLoadError: Missing file, broken or looping link, no permission, a folder, device,
            FIFO or socket, an empty file, or a file above ``max_bytes``.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _stat_error(path, name, exc) from None
    _refuse_special(name, info.st_mode)
    try:
        fd = _open_fd(path)
    except OSError as exc:
        raise _stat_error(path, name, exc) from None
    try:
        _refuse_special(name, os.fstat(fd).st_mode)  # the path may have changed since stat
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:
        raise ImageLoadError(name, "not a regular file", "pass an image file") from None
    except OSError as exc:
        raise ImageLoadError(name, f"cannot read file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if size == 0:
        raise ImageLoadError(name, "file is empty (0 bytes)", _CORRUPT_HINT)
    if size > max_bytes:
        raise ImageLoadError(
            name,
            f"file is larger than the {max_bytes:,}-byte limit",
            "raise the limit with $VISIONA_MAX_FILE_BYTES",
        )
    return b"".join(chunks)


def _stream_name(stream: Any) -> str:
    """Display name for a file object: its ``name`` when that is a string."""
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) and name else "<file>"


def _seekable(stream: Any, name: str) -> IO[bytes]:
    """Returns a seekable binary stream with the same content (reading it if needed)."""
    if isinstance(stream, io.TextIOBase):
        raise ImageLoadError(name, "file object is open in text mode", "open it with mode 'rb'")
    try:
        if stream.seekable():
            return stream
    except Exception:  # no usable seekable(): read it all below
        pass
    try:
        data = stream.read()
    except Exception as exc:
        raise ImageLoadError(name, f"cannot read file object ({_pil_message(exc)})") from None
    if isinstance(data, str):
        raise ImageLoadError(name, "file object is open in text mode", "open it with mode 'rb'")
    if not data:
        raise ImageLoadError(name, "no data (0 bytes)", _CORRUPT_HINT)
    return io.BytesIO(bytes(data))
