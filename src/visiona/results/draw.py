"""Small drawing helpers shared by result overlays (PIL only; no OpenCV needed)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
)  # fmt: skip


def color_for(index: int) -> tuple[int, int, int]:
    """A distinct colour per class id."""
    return PALETTE[index % len(PALETTE)]


def to_pil(image: Any) -> Image.Image:
    """A new RGB PIL image from a PIL image or an ``(H, W, 3)``/``(H, W)`` uint8 array."""
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image.copy()
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"draw() needs a uint8 (H, W[, 3]) image, got {array.dtype} {array.shape}")
    return Image.fromarray(array).convert("RGB")


def like_input(drawn: Image.Image, original: Any) -> Any:
    """Return ``drawn`` in the same kind the caller passed (PIL image or numpy array)."""
    return drawn if isinstance(original, Image.Image) else np.asarray(drawn)


@functools.cache
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's bundled scalable font at ``size`` px (falls back to the bitmap font)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        return ImageFont.load_default()


def label_size(image: Image.Image) -> int:
    """A label font size that stays readable on small and large images."""
    return max(12, round(min(image.size) / 28))


def draw_label_block(
    image: Image.Image,
    lines: list[str],
    origin: tuple[int, int] = (0, 0),
    color: tuple[int, int, int] = (0, 0, 0),
) -> None:
    """Draw ``lines`` as white text on a filled box whose top-left corner is ``origin``.

    The block is moved as little as needed to stay inside the image, so labels of objects at
    the right or bottom border (or of keypoints above the top) remain readable.
    """
    draw = ImageDraw.Draw(image)
    text_font = font(label_size(image))
    pad = max(2, label_size(image) // 4)
    boxes = [draw.textbbox((0, 0), line, font=text_font) for line in lines]
    width = max((right for _, _, right, _ in boxes), default=0) + 2 * pad
    height = sum(bottom + 2 * pad for _, _, _, bottom in boxes)
    x = min(max(0, origin[0]), max(0, image.width - width))
    y = min(max(0, origin[1]), max(0, image.height - height))
    for line in lines:
        _, _, right, bottom = draw.textbbox((x + pad, y + pad), line, font=text_font)
        draw.rectangle((x, y, right + pad, bottom + pad), fill=color)
        draw.text((x + pad, y + pad), line, fill=(255, 255, 255), font=text_font)
        y = bottom + pad
