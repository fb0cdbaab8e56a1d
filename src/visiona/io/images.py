"""Safe image decoding.

:func:`load_image` turns whatever a user hands over (a path, encoded bytes, a file object, a PIL
image or a numpy array) into one (H, W, 3) uint8 RGB array, or raises
:class:`~visiona.errors.ImageLoadError` with a reason and a hint. Nothing from Pillow escapes.

Safety rules:

* The format is decided from the file header, never from the extension, and only the formats in
  :data:`ALLOWED_FORMATS` are decoded.
* The pixel count is read from the header (``Image.open`` is lazy) and checked against a limit
  *before* any pixel data is decoded, so a crafted 30000×30000 PNG of a few bytes cannot allocate
  gigabytes.
* Files are opened read-only and never written to.
* Global Pillow settings (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are left
  alone; warnings filters are only changed inside ``warnings.catch_warnings`` blocks.
"""

from __future__ import annotations

import io
import operator
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visiona.errors import ImageLoadError, UsageError

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS_ENV",
    "ImageSource",
    "LoadedImage",
    "is_image_path",
    "load_image",
]

ALLOWED_FORMATS: frozenset[str] = frozenset(
    {"JPEG", "MPO", "PNG", "BMP", "GIF", "TIFF", "WEBP", "PPM"}
)
"""Pillow format names that are decoded. ``MPO`` is what Pillow calls multi-picture JPEGs (iPhone
photos); ``PPM`` covers PBM, PGM, PPM and PNM files."""

# Formats handed to ``Image.open(formats=...)``. MPO has no opener of its own: Pillow's JPEG
# opener returns an MPO image when the file holds several pictures.
_OPEN_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "PPM")

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest width × height decoded unless ``max_pixels=`` or ``$VISIONA_MAX_PIXELS`` says
otherwise."""

MAX_PIXELS_ENV = "VISIONA_MAX_PIXELS"
"""Environment variable that, set to a positive integer, replaces :data:`DEFAULT_MAX_PIXELS`."""

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

_FORMATS_HINT = "supported formats: JPEG, PNG, BMP, GIF, TIFF, WebP, PPM/PGM/PBM"
_CORRUPT_HINT = "the file may be incomplete or damaged; re-download or re-export it"
_LIMIT_HINT = f"raise the limit with load_image(..., max_pixels=N) or ${MAX_PIXELS_ENV}"
_ARRAY_SHAPES_HINT = "expected (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA"
_BOMB_MESSAGE = re.compile(r"\((\d+) pixels\)")
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ORIENTATION_TAG = 0x0112

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


# --------------------------------------------------------------------------- limits and errors


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


# --------------------------------------------------------------------------- files and streams


def _load_path(path: str | os.PathLike[str], name: str, limit: int) -> np.ndarray:
    """Opens a file read-only and decodes it."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ImageLoadError(
            name, "file not found", "check the path and the current folder"
        ) from None
    except PermissionError:
        raise ImageLoadError(name, "permission denied", "check the file's permissions") from None
    except OSError as exc:
        raise ImageLoadError(name, f"cannot open file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(
            name, "is a directory, not an image file", "pass image files, or expand folders first"
        )
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(name, "not a regular file", "pass an image file")
    if info.st_size == 0:
        raise ImageLoadError(name, "file is empty (0 bytes)", _CORRUPT_HINT)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except PermissionError:
        raise ImageLoadError(name, "permission denied", "check the file's permissions") from None
    except OSError as exc:
        raise ImageLoadError(name, f"cannot open file ({exc.strerror or exc})") from None
    with handle:
        return _load_stream(handle, name, limit)


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


# --------------------------------------------------------------------------- decoding


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


# --------------------------------------------------------------------------- numpy input


def _array_to_rgb(array: np.ndarray, name: str, limit: int) -> np.ndarray:
    """Validates and converts a numpy image array (never returns a view of it)."""
    shape = tuple(int(n) for n in array.shape)
    if array.ndim == 3 and shape[2] in (1, 3, 4):
        channels = shape[2]
    elif array.ndim == 2:
        channels = 1
    else:
        hint = _ARRAY_SHAPES_HINT
        if array.ndim == 3 and shape[0] in (1, 3, 4):
            hint += "; for channels-first data use array.transpose(1, 2, 0)"
        raise ImageLoadError(name, f"array of shape {shape} is not an image", hint)
    height, width = shape[:2]
    if height == 0 or width == 0:
        raise ImageLoadError(name, f"array of shape {shape} has zero size", _ARRAY_SHAPES_HINT)
    if height * width > limit:
        raise _too_large(name, height * width, limit, (width, height))
    data = _array_to_uint8(array, name, shape)
    if channels == 1:
        return _gray_to_rgb(data.reshape(height, width))
    if channels == 4:
        return _composite_on_white(data)
    return np.array(data, dtype=np.uint8, order="C", copy=True)


def _array_to_uint8(array: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Converts an array's values to uint8 according to its dtype."""
    dtype = array.dtype
    if dtype == np.uint8:
        return array
    if dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if dtype == np.uint16:
        return _scale_16bit(array)
    if dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageLoadError(
                name,
                f"{dtype} array of shape {shape} holds values {low}..{high}, outside 0..255",
                "use uint8 for 0..255, uint16 for 0..65535, or floats in 0..1",
            )
        return array.astype(np.uint8)
    if dtype.kind == "f":
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageLoadError(
                name, f"float array of shape {shape} holds NaN or infinite values", None
            )
        low, high = float(values.min()), float(values.max())
        if low < -1e-6 or high > 1.0 + 1e-6:
            raise ImageLoadError(
                name,
                f"float array of shape {shape} holds values {low:g}..{high:g}, outside 0..1",
                "scale float images to 0..1, or pass uint8",
            )
        return np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ImageLoadError(
        name,
        f"array of shape {shape} has unsupported dtype {dtype}",
        "use uint8, uint16, bool, or floats in 0..1",
    )


def _finish(rgb: np.ndarray, name: str) -> LoadedImage:
    """Wraps a converted array into a :class:`LoadedImage`."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    return LoadedImage(array=rgb, source=name, original_size=(int(width), int(height)))
