"""Tests for visiona.io.images: safe decoding of files, bytes, streams, PIL images and arrays."""

from __future__ import annotations

import ast
import hashlib
import io
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

import visiona.io.files as files
import visiona.io.images as images
from visiona.errors import ImageLoadError, UsageError
from visiona.io.images import (
    ALLOWED_FORMATS,
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    LoadedImage,
    is_image_path,
    load_image,
)

# --------------------------------------------------------------------------- helpers


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A valid-looking 8-bit grayscale PNG claiming width×height, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def save(image: Image.Image, path: Path, **params: object) -> Path:
    image.save(path, **params)
    return path


def blocks_rgb() -> np.ndarray:
    """A 16×24 RGB test pattern with distinct exact values."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, mtime_ns and mode of every file below a folder."""
    prints = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            prints[str(path)] = (digest, info.st_mtime_ns, info.st_mode)
    return prints


# --------------------------------------------------------------------------- constants


def test_constants() -> None:
    assert {"JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "MPO"} == ALLOWED_FORMATS
    assert DEFAULT_MAX_PIXELS == 100_000_000
    assert ".jpg" in IMAGE_SUFFIXES and ".pbm" in IMAGE_SUFFIXES and ".mpo" in IMAGE_SUFFIXES
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", True),
        ("dir/B.JPEG", True),
        ("x.Tif", True),
        ("scan.pgm", True),
        ("notes.txt", False),
        ("jpg", False),
        (".png", False),
        ("archive.png.zip", False),
    ],
)
def test_is_image_path(name: str, expected: bool) -> None:
    assert is_image_path(name) is expected
    assert is_image_path(Path(name)) is expected


# --------------------------------------------------------------------------- good files


def test_png_roundtrip_exact(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    path = save(Image.fromarray(pixels), tmp_path / "pattern.png")
    for given in (path, str(path)):
        loaded = load_image(given)
        assert isinstance(loaded, LoadedImage)
        assert loaded.array.shape == (16, 24, 3)
        assert loaded.array.dtype == np.uint8
        assert loaded.array.flags.c_contiguous
        np.testing.assert_array_equal(loaded.array, pixels)
        assert loaded.source == str(path)
        assert loaded.original_size == (24, 16)
        assert (loaded.width, loaded.height) == (24, 16)


def test_source_is_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(Image.fromarray(blocks_rgb()), tmp_path / "rel.png")
    monkeypatch.chdir(tmp_path)
    assert load_image("rel.png").source == "rel.png"


@pytest.mark.parametrize(
    ("fmt", "suffix", "exact"),
    [
        ("BMP", ".bmp", True),
        ("TIFF", ".tif", True),
        ("PPM", ".ppm", True),
        ("WEBP", ".webp", True),
        ("JPEG", ".jpg", False),
    ],
)
def test_other_allowed_formats(tmp_path: Path, fmt: str, suffix: str, exact: bool) -> None:
    pixels = blocks_rgb()
    params = {"lossless": True} if fmt == "WEBP" else {}
    path = save(Image.fromarray(pixels), tmp_path / f"img{suffix}", format=fmt, **params)
    loaded = load_image(path)
    assert loaded.array.shape == (16, 24, 3)
    if exact:
        np.testing.assert_array_equal(loaded.array, pixels)


def test_pgm_and_pbm(tmp_path: Path) -> None:
    gray = np.array([[0, 50, 255]], dtype=np.uint8)
    pgm = save(Image.fromarray(gray), tmp_path / "g.pgm")
    np.testing.assert_array_equal(load_image(pgm).array[0, :, 0], [0, 50, 255])
    pbm = save(Image.fromarray(gray > 100), tmp_path / "b.pbm")
    np.testing.assert_array_equal(load_image(pbm).array[0], [[0, 0, 0]] * 2 + [[255, 255, 255]])


def test_format_comes_from_header_not_extension(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    png_named_jpg = save(Image.fromarray(pixels), tmp_path / "really_png.jpg", format="PNG")
    np.testing.assert_array_equal(load_image(png_named_jpg).array, pixels)
    no_suffix = save(Image.fromarray(pixels), tmp_path / "noext", format="PNG")
    np.testing.assert_array_equal(load_image(no_suffix).array, pixels)


def test_mpo_first_picture(tmp_path: Path) -> None:
    first = Image.new("RGB", (32, 16), (250, 0, 0))
    second = Image.new("RGB", (32, 16), (0, 0, 250))
    path = tmp_path / "iphone.mpo"
    first.save(path, format="MPO", save_all=True, append_images=[second], quality=95)
    with Image.open(path) as check:
        assert check.format == "MPO"
    loaded = load_image(path)
    assert loaded.array.shape == (16, 32, 3)
    assert np.abs(loaded.array[8, 16].astype(int) - [250, 0, 0]).max() <= 6


# --------------------------------------------------------------------------- bad paths


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    with pytest.raises(ImageLoadError, match=r"nope\.jpg: file not found") as info:
        load_image(missing)
    assert info.value.source == str(missing)
    assert info.value.reason == "file not found"


def test_missing_parent_is_not_found(tmp_path: Path) -> None:
    afile = save(Image.fromarray(blocks_rgb()), tmp_path / "a.png")
    with pytest.raises(ImageLoadError, match="file not found"):
        load_image(afile / "child.png")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="is a directory, not an image file"):
        load_image(tmp_path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_permission_denied_real(tmp_path: Path) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "secret.png")
    path.chmod(0)
    try:
        with pytest.raises(ImageLoadError, match="permission denied"):
            load_image(path)
    finally:
        path.chmod(0o644)


def test_permission_denied_on_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "secret.png")

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files, "_open_fd", deny)
    with pytest.raises(ImageLoadError, match=r"secret\.png: permission denied"):
        load_image(path)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n" * 20)
    with pytest.raises(ImageLoadError, match=r"notes\.jpg: not a recognised image file") as info:
        load_image(path)
    assert "supported formats: JPEG, PNG" in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"file is empty \(0 bytes\)"):
        load_image(path)


@pytest.mark.parametrize("name", ["icon.ico", "icon_named.png"])
def test_unsupported_format_pillow_can_read(tmp_path: Path, name: str) -> None:
    path = save(Image.new("RGB", (32, 32), (1, 2, 3)), tmp_path / name, format="ICO")
    with Image.open(path) as check:  # Pillow itself reads it...
        assert check.format == "ICO"
    with pytest.raises(ImageLoadError, match="unsupported image format 'ICO'") as info:
        load_image(path)  # ...but it is not on the whitelist
    assert "supported formats" in str(info.value)


def test_unsupported_format_from_bytes() -> None:
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="TGA")
    with pytest.raises(ImageLoadError, match=r"<bytes>: unsupported image format 'TGA'"):
        load_image(buffer.getvalue())


def test_truncated_jpeg(tmp_path: Path) -> None:
    whole = save(Image.fromarray(np.tile(blocks_rgb(), (8, 8, 1))), tmp_path / "whole.jpg")
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    assert load_image(whole).array.shape == (128, 192, 3)
    with pytest.raises(
        ImageLoadError, match=r"cut\.jpg: truncated or corrupt image \(image file is truncated"
    ) as info:
        load_image(cut)
    assert "re-download" in str(info.value)


def test_truncated_png_data(tmp_path: Path) -> None:
    whole = save(Image.fromarray(np.tile(blocks_rgb(), (8, 8, 1))), tmp_path / "whole.png")
    data = whole.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match=r"truncated or corrupt image \("):
        load_image(cut)


@pytest.mark.parametrize(
    ("keep", "pattern"),
    [
        (12, r"truncated or corrupt PNG image \(cannot read its header\)"),
        (20, r"truncated or corrupt image \(Truncated File Read\)"),
    ],
)
def test_truncated_png_header(tmp_path: Path, keep: int, pattern: str) -> None:
    whole = save(Image.fromarray(blocks_rgb()), tmp_path / "whole.png")
    cut = tmp_path / "stub.png"
    cut.write_bytes(whole.read_bytes()[:keep])
    with pytest.raises(ImageLoadError, match=r"stub\.png: " + pattern):
        load_image(cut)


def test_corrupt_png_checksum(tmp_path: Path) -> None:
    whole = save(Image.fromarray(np.tile(blocks_rgb(), (4, 4, 1))), tmp_path / "whole.png")
    data = bytearray(whole.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # damage compressed pixel data; the CRC no longer matches
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match=r"truncated or corrupt image \("):
        load_image(bad)


def test_zero_size_png_header(tmp_path: Path) -> None:
    path = tmp_path / "zero.png"
    path.write_bytes(png_header_only(0, 10))
    with pytest.raises(ImageLoadError, match="corrupt PNG image"):
        load_image(path)


# --------------------------------------------------------------------------- pixel limits


def test_huge_png_header_refused_without_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    assert path.stat().st_size < 200
    with pytest.raises(
        ImageLoadError,
        match=r"bomb\.png: image is 30000×30000 = 900 MP, above the 100 MP limit",
    ) as info:
        load_image(path)
    assert "VISIONA_MAX_PIXELS" in str(info.value)
    assert "max_pixels=" in str(info.value)


def test_just_above_default_limit_no_pillow_warning(tmp_path: Path) -> None:
    # 100.01 MP: above Pillow's warning threshold (~89.5 MP), below its hard limit (~179 MP).
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10001, 10000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(
            ImageLoadError,
            match=r"image is 10001×10000 = 100,010,000 pixels, above the 100,000,000-pixel limit",
        ):
            load_image(path)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_above_pillow_hard_limit_but_within_ours(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    path.write_bytes(png_header_only(20000, 10000))
    pillow_limit = Image.MAX_IMAGE_PIXELS
    assert pillow_limit is not None and 2 * pillow_limit < 200_000_000
    with pytest.raises(ImageLoadError, match="too large for Pillow's decompression-bomb check"):
        load_image(path, max_pixels=10**9)
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # visiona does not raise Pillow's limit


def test_size_checked_before_pixels_are_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10001, 10000))
    loads: list[object] = []
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        loads.append(self)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(ImageLoadError, match="above the 100,000,000-pixel limit"):
        load_image(path)
    assert loads == []
    small = save(Image.fromarray(blocks_rgb()), tmp_path / "small.png")
    load_image(small)
    assert loads  # the spy does see real loads


def test_max_pixels_argument(tmp_path: Path) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "small.png")  # 24×16 = 384 pixels
    with pytest.raises(
        ImageLoadError, match=r"image is 24×16 = 384 pixels, above the 383-pixel limit"
    ):
        load_image(path, max_pixels=383)
    assert load_image(path, max_pixels=384).array.shape == (16, 24, 3)


def test_max_pixels_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "small.png")
    monkeypatch.setenv("VISIONA_MAX_PIXELS", "100")
    with pytest.raises(ImageLoadError, match="above the 100-pixel limit"):
        load_image(path)
    assert load_image(path, max_pixels=1000).width == 24  # the argument wins
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(30000, 30000))
    monkeypatch.setenv("VISIONA_MAX_PIXELS", "2_000_000_000")
    with pytest.raises(ImageLoadError, match="too large for Pillow"):
        load_image(huge)  # our limit allows it; Pillow's own hard limit still refuses


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_max_pixels_environment_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "small.png")
    monkeypatch.setenv("VISIONA_MAX_PIXELS", value)
    with pytest.raises(UsageError, match="VISIONA_MAX_PIXELS must be a positive whole number"):
        load_image(path)


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_max_pixels_argument_invalid(value: object) -> None:
    with pytest.raises(UsageError, match="max_pixels must be a positive integer"):
        load_image(np.zeros((2, 2), np.uint8), max_pixels=value)  # type: ignore[arg-type]


def test_limit_applies_to_arrays_and_pil_images() -> None:
    with pytest.raises(ImageLoadError, match=r"<array>: image is 10×10 = 100 pixels"):
        load_image(np.zeros((10, 10, 3), np.uint8), max_pixels=99)
    with pytest.raises(ImageLoadError, match=r"<PIL image>: image is 20×5 = 100 pixels"):
        load_image(Image.new("RGB", (20, 5)), max_pixels=99)


# --------------------------------------------------------------------------- modes


def test_grayscale_png(tmp_path: Path) -> None:
    gray = np.array([[0, 10, 200], [255, 128, 1]], dtype=np.uint8)
    path = save(Image.fromarray(gray), tmp_path / "gray.png")
    loaded = load_image(path)
    assert loaded.array.shape == (2, 3, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded.array[:, :, channel], gray)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    cmyk = np.zeros((32, 64, 4), dtype=np.uint8)
    cmyk[:, :32, 0] = 255  # left half: full cyan; right half: no ink (white)
    path = save(Image.fromarray(cmyk, mode="CMYK"), tmp_path / "print.jpg", quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    loaded = load_image(path)
    assert loaded.array.shape == (32, 64, 3)
    assert np.abs(loaded.array[16, 8].astype(int) - [0, 255, 255]).max() <= 8
    assert np.abs(loaded.array[16, 56].astype(int) - [255, 255, 255]).max() <= 8


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    image.putpixel((0, 0), 0)  # opaque red
    image.putpixel((1, 0), 1)  # transparent green
    path = save(image, tmp_path / "pal.png", transparency=1)
    with Image.open(path) as check:
        assert check.mode == "P" and check.info.get("transparency") == 1
    np.testing.assert_array_equal(load_image(path).array[0], [[255, 0, 0], [255, 255, 255]])


def test_palette_png_without_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 255, 0] + [0, 0, 0] * 254)
    image.putpixel((1, 0), 1)
    path = save(image, tmp_path / "pal.png")
    np.testing.assert_array_equal(load_image(path).array[0], [[255, 0, 0], [0, 255, 0]])


def test_rgba_png_composited_on_white(tmp_path: Path) -> None:
    rgba = np.array(
        [[[10, 20, 30, 0], [10, 20, 30, 255], [10, 20, 30, 128], [200, 0, 0, 64]]], dtype=np.uint8
    )
    path = save(Image.fromarray(rgba), tmp_path / "alpha.png")
    out = load_image(path).array[0].astype(int)
    np.testing.assert_array_equal(out[0], [255, 255, 255])  # fully transparent: no garbage colour
    np.testing.assert_array_equal(out[1], [10, 20, 30])
    expected_half = [round((c * 128 + 255 * 127) / 255) for c in (10, 20, 30)]
    np.testing.assert_array_equal(out[2], expected_half)
    np.testing.assert_array_equal(out[3], [round((200 * 64 + 255 * 191) / 255), 191, 191])


def test_gray_alpha_png(tmp_path: Path) -> None:
    la = Image.new("LA", (2, 1))
    la.putpixel((0, 0), (40, 255))
    la.putpixel((1, 0), (40, 0))
    path = save(la, tmp_path / "la.png")
    np.testing.assert_array_equal(load_image(path).array[0], [[40, 40, 40], [255, 255, 255]])


def test_sixteen_bit_png_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 385, 386, 1000, 25700, 65535]], dtype=np.uint16)
    path = save(Image.fromarray(values), tmp_path / "deep.png")
    with Image.open(path) as check:
        assert check.mode.startswith("I")  # Pillow keeps 16 bits: we must scale ourselves
    gray = load_image(path).array[0, :, 0]
    expected = [round(v / 257) for v in values[0].tolist()]
    assert expected == [0, 1, 2, 4, 100, 255]
    np.testing.assert_array_equal(gray, expected)


def test_one_bit_image(tmp_path: Path) -> None:
    path = save(Image.fromarray(np.array([[True, False]])), tmp_path / "bits.png")
    np.testing.assert_array_equal(load_image(path).array[0], [[255, 255, 255], [0, 0, 0]])


def test_pil_modes_i_and_f() -> None:
    as_i = Image.fromarray(np.array([[0, 257 * 3, 70000, -5]], dtype=np.int32), mode="I")
    np.testing.assert_array_equal(load_image(as_i).array[0, :, 0], [0, 3, 255, 0])
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F")
    np.testing.assert_array_equal(load_image(unit).array[0, :, 0], [0, 128, 255])
    wide = Image.fromarray(np.array([[0.0, 100.0, 300.0]], dtype=np.float32), mode="F")
    np.testing.assert_array_equal(load_image(wide).array[0, :, 0], [0, 100, 255])


def test_ycbcr_pil_image() -> None:
    image = Image.new("RGB", (4, 4), (255, 0, 0)).convert("YCbCr")
    out = load_image(image).array
    assert np.abs(out[0, 0].astype(int) - [255, 0, 0]).max() <= 3


def test_exif_orientation_applied(tmp_path: Path) -> None:
    stored = np.full((24, 48, 3), 255, dtype=np.uint8)  # 48 wide, 24 tall
    stored[:8, :8] = (255, 0, 0)  # red block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = save(Image.fromarray(stored), tmp_path / "phone.jpg", exif=exif, quality=95)
    with Image.open(path) as check:
        assert check.size == (48, 24) and check.getexif()[0x0112] == 6
    loaded = load_image(path)
    assert loaded.array.shape == (48, 24, 3)
    assert loaded.original_size == (24, 48)
    assert np.abs(loaded.array[3, -4].astype(int) - [255, 0, 0]).max() <= 12  # now top-right
    assert loaded.array[-4, 3].min() >= 240  # bottom-left stays white


def test_broken_exif_is_ignored(tmp_path: Path) -> None:
    stored = Image.fromarray(blocks_rgb())
    path = save(stored, tmp_path / "weird.png", exif=b"Exif\x00\x00garbage-not-tiff")
    np.testing.assert_array_equal(load_image(path).array, blocks_rgb())


@pytest.mark.parametrize(
    ("fmt", "suffix", "params"),
    [("GIF", ".gif", {}), ("PNG", ".png", {}), ("WEBP", ".webp", {"lossless": True})],
)
def test_animated_first_frame(tmp_path: Path, fmt: str, suffix: str, params: dict) -> None:
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (20, 10), (0, 0, 255))
    path = tmp_path / f"anim{suffix}"
    red.save(path, format=fmt, save_all=True, append_images=[blue], duration=100, **params)
    with Image.open(path) as check:
        assert getattr(check, "n_frames", 1) == 2
    loaded = load_image(path)
    assert loaded.array.shape == (10, 20, 3)
    np.testing.assert_array_equal(loaded.array[5, 10], [255, 0, 0])


# --------------------------------------------------------------------------- other inputs


def test_bytes_like_inputs(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    data = buffer.getvalue()
    for given in (data, bytearray(data), memoryview(data)):
        loaded = load_image(given)
        assert loaded.source == "<bytes>"
        np.testing.assert_array_equal(loaded.array, pixels)
    with pytest.raises(ImageLoadError, match=r"<bytes>: no data"):
        load_image(b"")
    with pytest.raises(ImageLoadError, match=r"<bytes>: not a recognised image file"):
        load_image(b"hello world, not an image")
    with pytest.raises(ImageLoadError, match=r"<bytes>: image is 30000×30000 = 900 MP"):
        load_image(png_header_only(30000, 30000))
    with pytest.raises(ImageLoadError, match=r"<bytes>: truncated or corrupt image"):
        load_image(data[: len(data) // 2])


def test_file_objects(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    path = save(Image.fromarray(pixels), tmp_path / "obj.png")
    with open(path, "rb") as handle:
        handle.read(5)  # a moved position does not matter
        loaded = load_image(handle)
        assert not handle.closed  # the caller's file is left open
    assert loaded.source == str(path)
    np.testing.assert_array_equal(loaded.array, pixels)
    stream = io.BytesIO(path.read_bytes())
    assert load_image(stream).source == "<file>"
    assert not stream.closed


def test_non_seekable_stream(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    path = save(Image.fromarray(pixels), tmp_path / "pipe.png")

    class Pipe:
        def __init__(self, data: bytes) -> None:
            self._data = data

        def read(self, size: int = -1) -> bytes:
            data, self._data = self._data, b""
            return data

        def seekable(self) -> bool:
            return False

    np.testing.assert_array_equal(load_image(Pipe(path.read_bytes())).array, pixels)


def test_text_mode_file_object(tmp_path: Path) -> None:
    path = save(Image.fromarray(blocks_rgb()), tmp_path / "text.png")
    with (
        open(path, encoding="latin-1") as handle,
        pytest.raises(ImageLoadError, match="open in text mode"),
    ):
        load_image(handle)


def test_unsupported_input_type() -> None:
    with pytest.raises(ImageLoadError, match=r"<int>: cannot read an image from a int"):
        load_image(123)  # type: ignore[arg-type]


def test_pil_image_inputs(tmp_path: Path) -> None:
    pixels = blocks_rgb()
    loaded = load_image(Image.fromarray(pixels))
    assert loaded.source == "<PIL image>"
    np.testing.assert_array_equal(loaded.array, pixels)
    path = save(Image.fromarray(pixels), tmp_path / "lazy.png")
    with Image.open(path) as lazy:  # not loaded yet
        np.testing.assert_array_equal(load_image(lazy).array, pixels)
    deep = Image.fromarray(np.array([[65535, 257]], dtype=np.uint16))
    np.testing.assert_array_equal(load_image(deep).array[0, :, 0], [255, 1])
    with pytest.raises(ImageLoadError, match=r"<PIL image>: image has zero size \(0×5\)"):
        load_image(Image.new("RGB", (0, 5)))


def test_truncated_pil_image_input(tmp_path: Path) -> None:
    whole = save(Image.fromarray(np.tile(blocks_rgb(), (8, 8, 1))), tmp_path / "whole.jpg")
    data = whole.read_bytes()
    with (
        Image.open(io.BytesIO(data[: len(data) // 2])) as lazy,
        pytest.raises(ImageLoadError, match=r"<PIL image>: truncated or corrupt image"),
    ):
        load_image(lazy)


# --------------------------------------------------------------------------- numpy input


def test_array_rgb_is_copied() -> None:
    pixels = blocks_rgb()
    loaded = load_image(pixels)
    assert loaded.source == "<array>"
    np.testing.assert_array_equal(loaded.array, pixels)
    loaded.array[0, 0] = (1, 2, 3)
    assert not np.shares_memory(loaded.array, pixels)
    tiny = np.zeros((1, 1, 4), dtype=np.uint8)
    tiny[..., 3] = 255
    assert not np.shares_memory(load_image(tiny).array, tiny)


def test_array_non_contiguous() -> None:
    pixels = blocks_rgb()[:, ::-1]
    loaded = load_image(pixels)
    assert loaded.array.flags.c_contiguous
    np.testing.assert_array_equal(loaded.array, pixels)


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 1)])
def test_array_gray(shape: tuple[int, ...]) -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(shape)
    out = load_image(gray).array
    assert out.shape == (3, 4, 3)
    np.testing.assert_array_equal(out[:, :, 2], np.arange(12).reshape(3, 4))


def test_array_rgba_composited() -> None:
    rgba = np.array([[[9, 9, 9, 0], [9, 8, 7, 255], [103, 2, 1, 128]]], dtype=np.uint8)
    # 103 at alpha 128 → 178.70 → 179 (rounded, not truncated)
    expected = [[255, 255, 255], [9, 8, 7], [179, round((2 * 128 + 255 * 127) / 255), 128]]
    np.testing.assert_array_equal(load_image(rgba).array[0], expected)


def test_array_dtypes() -> None:
    deep = np.array([[0, 386, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(load_image(deep).array[0, :, 0], [0, 2, 255])
    unit = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(load_image(unit).array[0, :, 0], [0, 128, 255])
    flags = np.array([[True, False]])
    np.testing.assert_array_equal(load_image(flags).array[0, :, 0], [255, 0])
    ints = np.array([[0, 17, 255]], dtype=np.int64)
    np.testing.assert_array_equal(load_image(ints).array[0, :, 0], [0, 17, 255])


@pytest.mark.parametrize(
    ("array", "pattern"),
    [
        (np.zeros((4, 5, 2), np.uint8), r"array of shape \(4, 5, 2\) is not an image"),
        (np.zeros(7, np.uint8), r"array of shape \(7,\) is not an image"),
        (np.zeros((2, 2, 2, 3), np.uint8), r"array of shape \(2, 2, 2, 3\) is not an image"),
        (np.zeros((3, 8, 9), np.uint8), r"transpose\(1, 2, 0\)"),
        (np.zeros((0, 5, 3), np.uint8), r"array of shape \(0, 5, 3\) has zero size"),
        (np.full((2, 2), 1.5), r"holds values 1.5..1.5, outside 0..1"),
        (np.array([[np.nan, 0.0]]), "NaN or infinite"),
        (np.array([[-1, 300]], np.int32), r"int32 array of shape \(1, 2\) holds values -1..300"),
        (np.zeros((2, 2), np.complex64), "unsupported dtype complex64"),
    ],
)
def test_array_errors(array: np.ndarray, pattern: str) -> None:
    with pytest.raises(ImageLoadError, match=r"<array>: .*" + pattern):
        load_image(array)


def test_loaded_image_validates() -> None:
    with pytest.raises(ValueError, match="uint8"):
        LoadedImage(np.zeros((2, 2, 3), np.float32), "x", (2, 2))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        LoadedImage(np.zeros((2, 2), np.uint8), "x", (2, 2))


# --------------------------------------------------------------------------- no side effects


def test_user_files_unchanged_and_no_global_state(tmp_path: Path) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    save(Image.fromarray(blocks_rgb()), folder / "a.png")
    rgba = np.zeros((8, 8, 4), np.uint8)
    save(Image.fromarray(rgba), folder / "b.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    save(Image.fromarray(blocks_rgb()), folder / "c.jpg", exif=exif)
    save(Image.new("CMYK", (8, 8)), folder / "d.jpg")
    red = Image.new("RGB", (4, 4), (255, 0, 0))
    red.save(folder / "e.gif", save_all=True, append_images=[Image.new("RGB", (4, 4))])
    save(Image.fromarray(np.array([[1, 65535]], np.uint16)), folder / "f.png")
    save(Image.new("RGB", (16, 16)), folder / "g.ico")
    (folder / "h.jpg").write_text("text")
    (folder / "i.png").write_bytes(png_header_only(30000, 30000))
    whole = (folder / "a.png").read_bytes()
    (folder / "j.png").write_bytes(whole[: len(whole) // 2])
    for path in folder.iterdir():
        os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))

    pil_state = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    filters = list(warnings.filters)
    before = fingerprint(folder)
    outcomes = {}
    for path in sorted(folder.iterdir()):
        try:
            outcomes[path.name] = load_image(path).array.shape
        except ImageLoadError as error:
            outcomes[path.name] = error.reason
    assert fingerprint(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(outcomes)
    assert pil_state == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert list(warnings.filters) == filters
    assert outcomes["c.jpg"] == (24, 16, 3)
    assert outcomes["g.ico"] == "unsupported image format 'ICO'"
    assert str(outcomes["j.png"]).startswith("truncated or corrupt image")


def test_module_does_not_import_torch() -> None:
    modules = ("images", "files", "limits", "pillow_decode", "arrays")
    for module in (*(f"visiona/io/{m}.py" for m in modules), "visiona/data/sources.py"):
        source = Path(images.__file__).parents[2] / module
        tree = ast.parse(source.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
        assert "torch" not in names, module
        assert names <= {
            "__future__",
            "glob",
            "io",
            "operator",
            "errno",
            "os",
            "re",
            "stat",
            "warnings",
            "dataclasses",
            "pathlib",
            "typing",
            "collections",
            "numpy",
            "PIL",
            "visiona",
        }, names
