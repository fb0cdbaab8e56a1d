"""Numpy arrays as images: shape and dtype checks, conversion to (H, W, 3) uint8 RGB."""

from __future__ import annotations

import numpy as np

from visiona.errors import ImageLoadError
from visiona.io.limits import _too_large
from visiona.io.pillow_decode import _composite_on_white, _gray_to_rgb, _scale_16bit

_ARRAY_SHAPES_HINT = "expected (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA"


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
