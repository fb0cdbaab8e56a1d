"""``visiona data make segment-shapes``: a seeded synthetic semantic segmentation set.

Textured discs, squares and triangles (each class has its own kind of texture — stripes,
checks, dots — in random colours, sizes and orientations) on textured backgrounds (blurred
noise and gradients). A few large training images and a held-out set, as the course's
"label three or four photos" lab needs::

    DIR/dataset.json              classes, colours, ignore index
    DIR/train/images/0000.jpg     DIR/train/masks/0000.png   (palette PNG: value = class id)
    DIR/val/images/0000.jpg       DIR/val/masks/0000.png
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from visiona.errors import UsageError
from visiona.results.segmentation import default_colors, write_palette_png

CLASSES = ("background", "disc", "square", "triangle")


@dataclass(frozen=True)
class SyntheticReport:
    out_dir: Path
    train: int
    val: int
    image_size: int
    classes: tuple[str, ...] = CLASSES


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Blurred colour noise over a gradient: ``(size, size, 3)`` float32 in [0, 255]."""
    low = rng.uniform(0, 255, (size // 32 + 2, size // 32 + 2, 3)).astype(np.uint8)
    coarse = np.asarray(Image.fromarray(low).resize((size, size), Image.BICUBIC), np.float32)
    noise = rng.normal(0, 12, (size, size, 3))
    ramp = np.linspace(-30, 30, size)[None, :, None] * rng.uniform(-1, 1)
    return np.clip(0.7 * coarse + 40 + noise + ramp, 0, 255)


def _texture(rng: np.random.Generator, kind: int, size: int) -> np.ndarray:
    """The texture of class ``kind`` (1 stripes, 2 checks, 3 dots) in two random colours."""
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    while np.abs(a - b).sum() < 150:
        b = rng.uniform(0, 255, 3)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(6, 14)
    angle = rng.uniform(0, math.pi)
    u = x * math.cos(angle) + y * math.sin(angle)
    v = -x * math.sin(angle) + y * math.cos(angle)
    if kind == 1:
        pattern = np.sin(2 * math.pi * u / period) > 0
    elif kind == 2:
        pattern = (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    else:
        pattern = (np.mod(u, period) - period / 2) ** 2 + (np.mod(v, period) - period / 2) ** 2 < (
            period / 3.5
        ) ** 2
    texture = np.where(pattern[..., None], a, b)
    return np.clip(texture + rng.normal(0, 8, texture.shape), 0, 255)


def _shape_mask(rng: np.random.Generator, kind: int, size: int) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    radius = rng.uniform(size * 0.06, size * 0.16)
    cx, cy = rng.uniform(radius, size - radius, 2)
    angle = rng.uniform(0, 2 * math.pi)
    if kind == 1:
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    else:
        corners = 4 if kind == 2 else 3
        points = [
            (
                cx + radius * math.cos(angle + 2 * math.pi * i / corners),
                cy + radius * math.sin(angle + 2 * math.pi * i / corners),
            )
            for i in range(corners)
        ]
        draw.polygon(points, fill=255)
    return mask


def synthesize(rng: np.random.Generator, size: int, max_shapes: int = 7):
    """One image ``(size, size, 3)`` uint8 and its ``(size, size)`` uint8 class ids."""
    image = _background(rng, size)
    ids = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(3, max_shapes + 1))):
        kind = int(rng.integers(1, len(CLASSES)))
        inside = np.asarray(_shape_mask(rng, kind, size)) > 127
        image[inside] = _texture(rng, kind, size)[inside]
        ids[inside] = kind
    pil = Image.fromarray(image.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    return np.asarray(pil), ids


def make_segment_shapes(
    out_dir: str | Path,
    *,
    train_images: int = 4,
    val_images: int = 20,
    image_size: int = 512,
    seed: int = 0,
    overwrite: bool = False,
) -> SyntheticReport:
    """Write the set (see the module docs); refuses a non-empty folder unless ``overwrite``."""
    out = Path(out_dir).expanduser()
    if image_size < 32:
        raise UsageError(f"--size must be at least 32 for segment-shapes, got {image_size}")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(f"{out} is not empty", hint="pick a new folder or pass --overwrite")
        for split in ("train", "val"):
            shutil.rmtree(out / split, ignore_errors=True)
    colors = default_colors(len(CLASSES))
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_images), ("val", val_images)):
        for index in range(count):
            image, ids = synthesize(rng, image_size)
            path = out / split / "images" / f"{index:04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path, quality=92)
            write_palette_png(out / split / "masks" / f"{index:04d}.png", ids, colors)
    meta = {"classes": list(CLASSES), "colors": [list(c) for c in colors], "ignore_index": 255}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2))
    return SyntheticReport(out, train_images, val_images, image_size)
