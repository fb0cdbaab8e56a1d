"""Real photos and requirement markers shared by the face, pose and matting tests.

skimage's astronaut (Eileen Collins: one face, one person), chelsea (a cat, no human face) and
lfw_subset (100 face / 100 non-face 25×25 crops) ship inside scikit-image, so these run offline.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

# Hand-checked box around the astronaut's head (hair to chin) in the 512×512 photo.
ASTRONAUT_HEAD = (165.0, 55.0, 280.0, 185.0)


def needs(*modules: str) -> pytest.MarkDecorator:
    """Needs every module importable: skip (naming the install command), or fail under ``CI``."""
    return pytest.mark.requires(modules=modules)


def needs_packaged(name: str) -> pytest.MarkDecorator:
    """Needs the packaged model file ``name`` (e.g. the npm pose models): skip, or fail in CI."""
    return pytest.mark.requires(packaged=(name,))


@functools.cache
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@functools.cache
def chelsea() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.chelsea())


@functools.cache
def lfw_images(size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """LFW subset crops upscaled (bicubic) to ``size`` px RGB, and labels (True = face)."""
    from skimage import data

    crops = data.lfw_subset()
    images = np.stack([lfw_rgb(crop, size) for crop in crops])
    labels = np.arange(len(crops)) < 100  # the first 100 are faces
    return images, labels


def lfw_rgb(crop: np.ndarray, size: int = 100) -> np.ndarray:
    gray = Image.fromarray(np.round(crop * 255).astype(np.uint8))
    return np.asarray(gray.resize((size, size), Image.BICUBIC).convert("RGB"))


def variants(image: np.ndarray) -> dict[str, np.ndarray]:
    """Flipped, cropped and recoloured copies of a photo (a gallery of one person)."""
    pil = Image.fromarray(image)
    width, height = pil.size
    return {
        "flipped": np.asarray(ImageOps.mirror(pil)),
        "cropped": np.asarray(pil.crop((width // 5, 0, width * 4 // 5, height * 3 // 5))),
        "gray": np.asarray(ImageOps.grayscale(pil).convert("RGB")),
        "faded": np.asarray(ImageEnhance.Color(pil).enhance(0.4)),
    }


def inside(point: np.ndarray, box: tuple[float, ...] | np.ndarray) -> bool:
    x, y = float(point[0]), float(point[1])
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def iou(a: np.ndarray | tuple[float, ...], b: np.ndarray | tuple[float, ...]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    overlap = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / area
