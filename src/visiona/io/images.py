"""Safe image decoding (the public entry point).

The work is split by concern: :mod:`visiona.io.files` (reading files), :mod:`visiona.io.limits`
(pixel and byte limits, refusal messages), :mod:`visiona.io.pillow_decode` (Pillow decoding) and
:mod:`visiona.io.arrays` (numpy input). Import from here: the names below are the stable API.

:func:`load_image` turns whatever a user hands over (a path, encoded bytes, a file object, a PIL
image or a numpy array) into one (H, W, 3) uint8 RGB array, or raises
:class:`~visiona.errors.ImageLoadError` with a reason and a hint. Nothing from Pillow escapes.

Safety rules:

* The format is decided from the file header, never from the extension, and only the formats in
  :data:`ALLOWED_FORMATS` are decoded.
* The pixel count is read from the header (``Image.open`` is lazy) and checked against a limit
  *before* any pixel data is decoded, so a crafted 30000×30000 PNG of a few bytes cannot allocate
  gigabytes.
* Files are opened read-only and never written to; only regular files are read, and never more
  than the byte limit (:mod:`visiona.io.files`), so ``/dev/zero`` or a FIFO cannot hang a run.
* Global Pillow settings (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are left
  alone; warnings filters are only changed inside ``warnings.catch_warnings`` blocks.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeAlias

import numpy as np
from PIL import Image

from visiona.errors import ImageLoadError
from visiona.io.arrays import _array_to_rgb
from visiona.io.files import _seekable, _stream_name, read_image_file
from visiona.io.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    MAX_FILE_BYTES_ENV,
    MAX_PIXELS_ENV,
    _resolve_max_file_bytes,
    _resolve_max_pixels,
)
from visiona.io.pillow_decode import ALLOWED_FORMATS, _decode, _load_stream

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "MAX_FILE_BYTES_ENV",
    "MAX_PIXELS_ENV",
    "ImageSource",
    "LoadedImage",
    "is_image_path",
    "load_encoded",
    "load_image",
    "read_image_file",
]

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".bmp",
        ".gif",
        ".tif",
        ".tiff",
        ".webp",
        ".ppm",
        ".pgm",
        ".pbm",
        ".mpo",
    }
)
"""Lower-case file suffixes treated as images when scanning folders."""


ImageSource: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray
)
"""Everything :func:`load_image` accepts."""


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image, ready for preprocessing.

    Attributes:
        array: (H, W, 3) uint8 RGB pixels, C-contiguous, owned by this object (never a view of the
            caller's array).
        source: Display name of the input: the path as given, or ``"<array>"``, ``"<bytes>"``,
            ``"<PIL image>"``, or a file object's ``name``.
        original_size: (width, height) of the decoded image after EXIF orientation was applied.
    """

    array: np.ndarray
    source: str
    original_size: tuple[int, int]

    def __post_init__(self) -> None:
        """Checks that ``array`` really is an (H, W, 3) uint8 image.

        Raises:
            ValueError: If it is not (a programming error, not a user error).
        """
        arr = self.array
        if not isinstance(arr, np.ndarray) or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(
                f"LoadedImage.array must be (H, W, 3), got {getattr(arr, 'shape', arr)}"
            )
        if arr.dtype != np.uint8:
            raise ValueError(f"LoadedImage.array must be uint8, got {arr.dtype}")

    @property
    def width(self) -> int:
        """Width of :attr:`array` in pixels."""
        return int(self.array.shape[1])

    @property
    def height(self) -> int:
        """Height of :attr:`array` in pixels."""
        return int(self.array.shape[0])


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Tells whether a file name has an image suffix (case-insensitive), for folder scanning.

    Args:
        path: A file name or path; the file need not exist.

    Returns:
        True if the suffix is one of :data:`IMAGE_SUFFIXES`.
    """
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def load_image(source: ImageSource, *, max_pixels: int | None = None) -> LoadedImage:
    """Decodes one image into an RGB uint8 array.

    Conversions: EXIF orientation is applied; animated images give their first frame (a PIL image
    gives its current frame); every pixel mode becomes 8-bit RGB, 16-bit data being scaled by
    1/257 (so 65535 → 255) rather than clipped. Images with transparency are composited onto a
    white background: fully transparent pixels often hold arbitrary colour (black, or leftovers
    from editing) that a model would otherwise see.

    Args:
        source: A path (``str`` or ``os.PathLike``); encoded file content (``bytes``,
            ``bytearray``, ``memoryview``); a binary file object; a ``PIL.Image.Image``; or a
            numpy array shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of dtype uint8, uint16
            (full 16-bit range), bool, another integer type holding 0..255, or float holding
            0..1.
        max_pixels: Largest width × height accepted. ``None`` means ``$VISIONA_MAX_PIXELS`` if
            set, else :data:`DEFAULT_MAX_PIXELS`.

    Returns:
        The decoded image.

    Raises:
        ImageLoadError: If the input cannot be read as an image: missing file, a directory, no
            permission, not an image, a format outside :data:`ALLOWED_FORMATS`, too many pixels,
            zero size, truncated or corrupt data, or an array of the wrong shape or dtype.
        UsageError: If ``max_pixels`` or ``$VISIONA_MAX_PIXELS`` is not a positive integer.
    """
    limit = _resolve_max_pixels(max_pixels)
    if isinstance(source, np.ndarray):
        return _finish(_array_to_rgb(source, "<array>", limit), "<array>")
    if isinstance(source, Image.Image):
        return _finish(_decode(source, "<PIL image>", limit), "<PIL image>")
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise ImageLoadError("<bytes>", "no data (0 bytes)", "pass the encoded file content")
        return _finish(_load_stream(io.BytesIO(data), "<bytes>", limit), "<bytes>")
    if isinstance(source, str | os.PathLike):
        name = os.fsdecode(os.fspath(source))
        return _finish(_load_path(source, name, limit), name)
    if hasattr(source, "read"):
        name = _stream_name(source)
        return _finish(_load_stream(_seekable(source, name), name, limit), name)
    kind = type(source).__name__
    raise ImageLoadError(
        f"<{kind}>",
        f"cannot read an image from a {kind}",
        "pass a path, bytes, a binary file object, a PIL image or a numpy array",
    )


def load_encoded(data: bytes, name: str, *, max_pixels: int | None = None) -> LoadedImage:
    """Decodes encoded file content already read (e.g. by :func:`read_image_file`).

    Like :func:`load_image` on bytes, but errors name the file as ``name``.

    Raises:
        ImageLoadError: As :func:`load_image`.
    """
    limit = _resolve_max_pixels(max_pixels)
    if not data:
        raise ImageLoadError(name, "no data (0 bytes)", "pass the encoded file content")
    return _finish(_load_stream(io.BytesIO(data), name, limit), name)


def _load_path(path: str | os.PathLike[str], name: str, limit: int) -> np.ndarray:
    """Reads a regular file (bounded by the byte limit) and decodes it."""
    data = read_image_file(path, name, _resolve_max_file_bytes())
    return _load_stream(io.BytesIO(data), name, limit)


def _finish(rgb: np.ndarray, name: str) -> LoadedImage:
    """Wraps a converted array into a :class:`LoadedImage`."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return LoadedImage(array=rgb, source=name, original_size=(int(width), int(height)))
