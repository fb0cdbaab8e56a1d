"""Helpers the bench scripts share."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")


def read_idx(name: str) -> np.ndarray:
    """An IDX array (MNIST format) from the Debian dataset-fashion-mnist package."""
    with gzip.open(FASHION / name) as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_images(count: int) -> np.ndarray:
    """The first ``count`` Fashion-MNIST training images, ``(count, 28, 28)`` uint8."""
    return read_idx("train-images-idx3-ubyte.gz")[:count]
