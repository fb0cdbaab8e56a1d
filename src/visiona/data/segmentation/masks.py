"""Reading mask files into class ids: palette PNG, grey id PNG, 0/255 binary, RGB colours.

- Palette (``P``) PNG: the pixel value is the class id (VOC ``SegmentationClass``, the painter).
- Grey (``L``) PNG: the value is the class id; for two classes, 0/255 masks read as 0/1.
- RGB(A): each colour is looked up in the classes' colours; white is the ignore index unless a
  class is white; any other colour is a problem.
- JPEG masks are lossy (colours and ids smear at edges): read, but with a warning.

Ids outside the class list (other than the ignore index, 255) are problems too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from visiona.results.segmentation import IGNORE_INDEX

LOSSY_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".webp"})


class MaskError(ValueError):
    """A mask that cannot be used (message says why, in one line)."""


def open_mask(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image) if image.getexif() else image.copy()
    except (OSError, SyntaxError, ValueError) as error:
        raise MaskError(f"not a readable image ({type(error).__name__})") from None


def mask_ids(
    image: Image.Image, colors: Sequence[tuple[int, int, int]], num_classes: int
) -> np.ndarray:
    """``(H, W)`` uint8 class ids of a decoded mask (see the module docs for the modes).

    Raises:
        MaskError: Colours not in the palette, or ids outside the class list.
    """
    mode = image.mode
    if mode == "P":
        ids = np.asarray(image, dtype=np.uint8)
    elif mode in ("L", "1", "I", "I;16", "LA"):
        values = np.asarray(image.convert("L") if mode != "L" else image)
        ids = values.astype(np.uint8)
        if num_classes == 2 and ids.max(initial=0) == 255:
            present = np.unique(ids)
            if set(present.tolist()) <= {0, 255}:
                ids = (ids == 255).astype(np.uint8)  # a 0/255 binary mask
    elif mode in ("RGB", "RGBA"):
        ids = _ids_from_colors(np.asarray(image.convert("RGB")), colors)
    else:
        raise MaskError(f"unsupported mask mode {mode!r} (use palette, grey or RGB PNG)")
    bad = (ids >= num_classes) & (ids != IGNORE_INDEX)
    if bad.any():
        found = sorted(set(np.unique(ids[bad]).tolist()))
        shown = ", ".join(map(str, found[:8]))
        raise MaskError(
            f"class ids outside the class list (0-{num_classes - 1}, {IGNORE_INDEX} = ignore): "
            f"{shown}"
        )
    return ids


def _ids_from_colors(rgb: np.ndarray, colors: Sequence[tuple[int, int, int]]) -> np.ndarray:
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    lookup = {(r << 16) | (g << 8) | b: index for index, (r, g, b) in enumerate(colors)}
    lookup.setdefault(0xFFFFFF, IGNORE_INDEX)
    unique, inverse = np.unique(codes, return_inverse=True)
    unknown = [int(code) for code in unique if int(code) not in lookup]
    if unknown:
        shown = ", ".join(f"#{code:06x}" for code in unknown[:6])
        more = f" (+{len(unknown) - 6} more)" if len(unknown) > 6 else ""
        raise MaskError(f"RGB colours not in the class palette: {shown}{more}")
    table = np.array([lookup[int(code)] for code in unique], dtype=np.uint8)
    return table[inverse.reshape(codes.shape)]


def read_mask(
    path: Path, colors: Sequence[tuple[int, int, int]], num_classes: int
) -> tuple[np.ndarray, list[str]]:
    """Class ids of a mask file and warnings (a lossy JPEG mask).

    Raises:
        MaskError: Unreadable, or colours/ids that are not classes.
    """
    warnings = []
    if path.suffix.lower() in LOSSY_SUFFIXES:
        warnings.append("mask is a lossy JPEG/WebP: edges blur into wrong ids; save masks as PNG")
    return mask_ids(open_mask(path), colors, num_classes), warnings


def infer_num_classes(paths: Sequence[Path]) -> int:
    """Classes a folder of masks seems to use: 2 for 0/255 binary masks, else max id + 1."""
    largest, binary = 0, True
    for path in paths:
        try:
            image = open_mask(path)
        except MaskError:
            continue
        if image.mode in ("RGB", "RGBA"):
            continue
        values = np.unique(np.asarray(image.convert("L") if image.mode != "P" else image))
        binary &= set(values.tolist()) <= {0, 255}
        labelled = values[values != IGNORE_INDEX]
        if labelled.size:
            largest = max(largest, int(labelled.max()))
    return 2 if binary else max(2, largest + 1)
