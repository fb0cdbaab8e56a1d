"""The fast JPEG path decodes like the careful one and still refuses what it refuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.errors import ImageLoadError
from visiona.io.fast_decode import decode_image
from visiona.io.images import load_image


def _photo(size: tuple[int, int] = (120, 80)) -> np.ndarray:
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    return np.stack([x * 2 % 256, y * 3 % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def test_jpeg_matches_pillow(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    Image.fromarray(_photo()).save(path, quality=92)
    fast, careful = decode_image(path), load_image(path)
    assert fast.array.shape == careful.array.shape == (80, 120, 3)
    assert fast.original_size == careful.original_size == (120, 80)
    # Both are libjpeg-turbo; allow the odd rounding step between builds.
    assert np.abs(fast.array.astype(int) - careful.array.astype(int)).max() <= 2
    assert fast.array.flags.c_contiguous
    assert fast.source == str(path)


def test_exif_orientation_grey_and_fallbacks(tmp_path: Path) -> None:
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(_photo()).save(rotated, exif=exif)
    assert decode_image(rotated).array.shape == load_image(rotated).array.shape == (120, 80, 3)
    grey = tmp_path / "grey.jpg"
    Image.fromarray(_photo()[..., 0]).save(grey)
    pixels = decode_image(grey).array
    assert pixels.shape == (80, 120, 3) and np.array_equal(pixels[..., 0], pixels[..., 2])
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(_photo()).convert("CMYK").save(cmyk)
    assert decode_image(cmyk).array.shape == (80, 120, 3)  # Pillow path converts it
    png = tmp_path / "a.png"
    Image.fromarray(_photo()).save(png)
    assert np.array_equal(decode_image(png).array, _photo())


def test_refusals_are_the_careful_paths(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.fromarray(_photo()).save(path)
    with pytest.raises(ImageLoadError, match="above the"):
        decode_image(path, max_pixels=100)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageLoadError) as fast_error:
        decode_image(truncated)
    with pytest.raises(ImageLoadError) as careful_error:
        load_image(truncated)
    assert str(fast_error.value) == str(careful_error.value)
    with pytest.raises(ImageLoadError, match="file not found"):
        decode_image(tmp_path / "missing.jpg")
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"  # inputs are never touched
