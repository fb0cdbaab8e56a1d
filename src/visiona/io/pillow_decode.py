"""Decoding with Pillow: header check first (format, pixel count), then pixels to RGB uint8."""

from __future__ import annotations

import warnings
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visiona.errors import ImageLoadError
from visiona.io.limits import (
    _CORRUPT_HINT,
    _FORMATS_HINT,
    _check_size,
    _corrupt,
    _pillow_refused,
)

ALLOWED_FORMATS: frozenset[str] = frozenset(
    {"JPEG", "MPO", "PNG", "BMP", "GIF", "TIFF", "WEBP", "PPM"}
)
"""Pillow format names that are decoded. ``MPO`` is what Pillow calls multi-picture JPEGs (iPhone
photos); ``PPM`` covers PBM, PGM, PPM and PNM files."""

# Formats handed to ``Image.open(formats=...)``. MPO has no opener of its own: Pillow's JPEG
# opener returns an MPO image when the file holds several pictures.
_OPEN_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "PPM")

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ORIENTATION_TAG = 0x0112


def _load_stream(stream: IO[bytes], name: str, limit: int) -> np.ndarray:
    """Identifies, checks and decodes the image in a seekable binary stream."""
    image = _open(stream, name, limit)
    # ``with`` (not ``close()``): ImageFile.close() would also close a caller's file object.
    with image:
        return _decode(image, name, limit)


def _open_formats() -> list[str]:
    """The allowed formats Pillow has an opener for."""
    Image.init()  # imports Pillow's plugins (idempotent); TIFF and WebP are not in preinit
    return [fmt for fmt in _OPEN_FORMATS if fmt in Image.OPEN]


def _open(stream: IO[bytes], name: str, limit: int) -> Image.Image:
    """Reads the header (lazily, no pixel data) and checks format and size."""
    formats = _open_formats()
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own default limit; the exact check against ``limit`` below
            # replaces that warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=formats)
    except Image.DecompressionBombError as exc:
        raise _pillow_refused(name, exc, limit, _probe_size(stream, formats)) from None
    except UnidentifiedImageError:
        raise _unidentified(stream, name, formats) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise _corrupt(name, exc) from None
    if image.format not in ALLOWED_FORMATS:  # pragma: no cover - openers are restricted
        raise ImageLoadError(name, f"unsupported image format '{image.format}'", _FORMATS_HINT)
    _check_size(name, image.size, limit)
    return image


def _unidentified(stream: IO[bytes], name: str, formats: list[str]) -> ImageLoadError:
    """Explains why no allowed opener accepted a stream."""
    other = _identify_any(stream)
    if other is not None:
        return ImageLoadError(name, f"unsupported image format '{other}'", _FORMATS_HINT)
    signature = _signature_format(stream, formats)
    if signature is not None:
        return ImageLoadError(
            name, f"truncated or corrupt {signature} image (cannot read its header)", _CORRUPT_HINT
        )
    return ImageLoadError(name, "not a recognised image file", _FORMATS_HINT)


def _identify_any(stream: IO[bytes]) -> str | None:
    """Names the format of a stream with all of Pillow's openers, or None. Decodes nothing."""
    try:
        stream.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(stream)
        with image:
            return image.format
    except Exception:
        return None


def _candidates(stream: IO[bytes], formats: list[str]) -> list[tuple[str, Any]]:
    """Allowed formats whose signature matches the start of the stream, with their factories."""
    stream.seek(0)
    prefix = stream.read(16)
    found = []
    for fmt in formats:
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept else True
        if verdict is True or (verdict and not isinstance(verdict, str)):
            found.append((fmt, factory))
    return found


def _signature_format(stream: IO[bytes], formats: list[str]) -> str | None:
    """The allowed format whose signature the stream starts with, or None."""
    try:
        found = _candidates(stream, formats)
    except Exception:
        return None
    return found[0][0] if found else None


def _probe_size(stream: IO[bytes], formats: list[str]) -> tuple[int, int] | None:
    """Header size of an image Pillow refused to open, for the error message; None if unknown.

    Calls the format's opener directly (Pillow's ``Image.open`` refuses before returning the
    image). Only the header is parsed.
    """
    try:
        for _, factory in _candidates(stream, formats):
            stream.seek(0)
            try:
                width, height = factory(stream, "").size
            except Exception:  # try the next matching opener
                continue
            return int(width), int(height)
    except Exception:
        return None
    return None


def _decode(image: Image.Image, name: str, limit: int) -> np.ndarray:
    """Loads pixel data, applies EXIF orientation and converts to RGB uint8."""
    _check_size(name, image.size, limit)
    pil_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow's warning during decoding (frame or tile sizes) means "above
            # MAX_IMAGE_PIXELS"; that is a refusal only when our limit is not higher.
            action = "error" if pil_limit is not None and limit <= pil_limit else "ignore"
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _pillow_refused(name, exc, limit) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise _corrupt(name, exc) from None
    _check_size(name, image.size, limit)
    image = _apply_orientation(image)
    try:
        return _image_to_rgb(image, name)
    except (ImageLoadError, MemoryError):
        raise
    except Exception as exc:
        raise _corrupt(name, exc) from None


def _apply_orientation(image: Image.Image) -> Image.Image:
    """Rotates/flips as the EXIF Orientation tag says; unreadable EXIF is ignored."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF must not make a readable image unusable
        return image
    return image


def _image_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    """Converts a loaded PIL image of any mode to an (H, W, 3) uint8 RGB array."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image)
        gray = _scale_16bit(values)
        transparency = image.info.get("transparency")
        if isinstance(transparency, int) and not isinstance(transparency, bool):
            gray = np.where(values == transparency, np.uint8(255), gray)
        return _gray_to_rgb(gray)
    if mode == "F":
        return _gray_to_rgb(_float_image_to_uint8(np.asarray(image, dtype=np.float32)))
    if mode == "RGB" and "transparency" not in image.info:
        return np.array(image, dtype=np.uint8)
    if image.has_transparency_data:
        try:
            rgba = image.convert("RGBA")
        except ValueError:
            pass
        else:
            return _composite_on_white(np.array(rgba, dtype=np.uint8))
    try:
        rgb = image.convert("RGB")
    except ValueError:
        raise ImageLoadError(
            name, f"unsupported pixel mode '{mode}'", "convert the image to RGB first"
        ) from None
    return np.array(rgb, dtype=np.uint8)


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    """Maps 0..65535 to 0..255 as round(v / 257); values outside the range are clipped first."""
    wide = np.clip(values, 0, 65535).astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _float_image_to_uint8(values: np.ndarray) -> np.ndarray:
    """Maps a float ("F" mode) image to uint8.

    Data already in 0..1 is scaled by 255; anything else is taken as 0..255 and clipped, as Pillow
    does. NaN becomes 0.
    """
    values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """Repeats an (H, W) uint8 array into three channels."""
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Composites (H, W, 4) uint8 RGBA onto white, rounding to nearest.

    rgb·a + 255·(255 − a) is at most 255² = 65025, so uint16 arithmetic cannot overflow.
    """
    alpha = rgba[:, :, 3:4]
    if alpha.size == 0 or alpha.min() == 255:
        return rgba[:, :, :3].copy()
    alpha16 = alpha.astype(np.uint16)
    mixed = rgba[:, :, :3].astype(np.uint16) * alpha16
    mixed += 255 * (255 - alpha16)
    mixed += 127
    mixed //= 255
    return mixed.astype(np.uint8)
