"""Tiny segmentation data sets written as real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from visiona.results.segmentation import default_colors, write_palette_png


def square_pair(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A dark noisy image with one bright square (class 1): ``(H, W, 3)`` uint8, ``(H, W)`` ids."""
    image = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
    ids = np.zeros((size, size), np.uint8)
    side = size // 3
    y, x = rng.integers(0, size - side, 2)
    image[y : y + side, x : x + side] = rng.integers(190, 255, (side, side, 3))
    ids[y : y + side, x : x + side] = 1
    return image, ids


def make_pairs(root: Path, count: int = 4, size: int = 64, seed: int = 0, split: str = "") -> Path:
    """``root/[split/]images/*.png`` + ``masks/*.png`` (palette) and a ``dataset.json``."""
    rng = np.random.default_rng(seed)
    base = root / split if split else root
    for index in range(count):
        image, ids = square_pair(rng, size)
        (base / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(base / "images" / f"{index:03d}.png")
        write_palette_png(base / "masks" / f"{index:03d}.png", ids, default_colors(2))
    meta = {"classes": ["background", "square"], "colors": [[0, 0, 0], [255, 0, 0]]}
    (root / "dataset.json").write_text(json.dumps(meta))
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, to prove a command changed nothing."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
