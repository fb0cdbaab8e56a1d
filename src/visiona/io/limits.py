"""Limits on what is decoded (pixels, file bytes) and the errors that explain a refusal."""

from __future__ import annotations

import operator
import os
import re

from visiona.errors import ImageLoadError, UsageError

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest width × height decoded unless ``max_pixels=`` or ``$VISIONA_MAX_PIXELS`` says
otherwise."""

MAX_PIXELS_ENV = "VISIONA_MAX_PIXELS"
"""Environment variable that, set to a positive integer, replaces :data:`DEFAULT_MAX_PIXELS`."""

DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024
"""Largest image file read from disk (512 MiB) unless ``$VISIONA_MAX_FILE_BYTES`` says otherwise.
Reads stop one byte past the limit, so a huge or endless file never fills memory."""

MAX_FILE_BYTES_ENV = "VISIONA_MAX_FILE_BYTES"
"""Environment variable that, set to a positive integer, replaces :data:`DEFAULT_MAX_FILE_BYTES`."""

_FORMATS_HINT = "supported formats: JPEG, PNG, BMP, GIF, TIFF, WebP, PPM/PGM/PBM"
_CORRUPT_HINT = "the file may be incomplete or damaged; re-download or re-export it"
_LIMIT_HINT = f"raise the limit with load_image(..., max_pixels=N) or ${MAX_PIXELS_ENV}"
_BOMB_MESSAGE = re.compile(r"\((\d+) pixels\)")


def _resolve_max_pixels(max_pixels: int | None) -> int:
    """Returns the pixel limit for one call (argument, else environment, else default)."""
    if max_pixels is not None:
        try:
            value = operator.index(max_pixels)
        except TypeError:
            value = 0
        if isinstance(max_pixels, bool) or value <= 0:
            raise UsageError(f"max_pixels must be a positive integer, got {max_pixels!r}")
        return value
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(
            f"{MAX_PIXELS_ENV} must be a positive whole number of pixels, got {raw!r}",
            f"unset it to use the default of {DEFAULT_MAX_PIXELS:,} pixels",
        )
    return value


def _resolve_max_file_bytes() -> int:
    """The file size limit: ``$VISIONA_MAX_FILE_BYTES`` if set, else the default."""
    raw = os.environ.get(MAX_FILE_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(
            f"{MAX_FILE_BYTES_ENV} must be a positive whole number of bytes, got {raw!r}",
            f"unset it to use the default of {DEFAULT_MAX_FILE_BYTES:,} bytes",
        )
    return value


def _megapixels(pixels: int) -> str:
    """Formats a pixel count as megapixels with at most three significant digits."""
    value = pixels / 1_000_000
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _too_large(
    name: str, pixels: int, limit: int, size: tuple[int, int] | None = None
) -> ImageLoadError:
    """Builds the error for an image above the pixel limit."""
    have, allowed = _megapixels(pixels), _megapixels(limit)
    if have == allowed or limit < 10_000:
        have, allowed = f"{pixels:,} pixels", f"{limit:,}-pixel"
    else:
        have, allowed = f"{have} MP", f"{allowed} MP"
    dims = f"{size[0]}×{size[1]} = " if size is not None else ""
    return ImageLoadError(name, f"image is {dims}{have}, above the {allowed} limit", _LIMIT_HINT)


def _pillow_refused(
    name: str, exc: Exception, limit: int, size: tuple[int, int] | None = None
) -> ImageLoadError:
    """Builds the error for Pillow's own decompression-bomb refusal."""
    if size is not None:
        pixels: int | None = size[0] * size[1]
    else:
        match = _BOMB_MESSAGE.search(str(exc))
        pixels = int(match[1]) if match else None
    if pixels is not None and pixels > limit:
        return _too_large(name, pixels, limit, size)
    return ImageLoadError(
        name,
        f"image is too large for Pillow's decompression-bomb check ({exc})",
        "visiona does not change Pillow settings; raise PIL.Image.MAX_IMAGE_PIXELS in your "
        "program to load it",
    )


def _pil_message(exc: BaseException) -> str:
    """Pillow's message for an exception, or its type name when the message is empty."""
    return str(exc).strip() or type(exc).__name__


def _corrupt(name: str, exc: BaseException) -> ImageLoadError:
    """Builds the error for data Pillow failed to decode."""
    return ImageLoadError(name, f"truncated or corrupt image ({_pil_message(exc)})", _CORRUPT_HINT)


def _check_size(name: str, size: tuple[int, int], limit: int) -> None:
    """Refuses zero-size images and images above the pixel limit."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageLoadError(name, f"image has zero size ({width}×{height})", _CORRUPT_HINT)
    if width * height > limit:
        raise _too_large(name, width * height, limit, (width, height))
