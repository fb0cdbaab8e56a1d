"""Hostile and broken inputs: each gets a 4xx JSON error (or a result), never a 500, and the
server stays live."""

from __future__ import annotations

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _png_bomb_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with a tiny (invalid) body."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    idat = zlib.compress(b"\x00" * 64)
    chunk += struct.pack(">I", len(idat)) + b"IDAT" + idat
    chunk += struct.pack(">I", zlib.crc32(b"IDAT" + idat) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk


def _gif_animated() -> bytes:
    frames = [Image.new("P", (40, 40), i * 40) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


JPEG = _encode(Image.new("RGB", (64, 64), (10, 200, 10)), "JPEG")

CASES = {
    # name: (filename, bytes, expected status)
    "not_an_image": ("notes.txt", b"hello, I am text\n" * 20, 415),
    "truncated_jpeg": ("cut.jpg", JPEG[: len(JPEG) // 2], 422),
    "bomb_header": ("bomb.png", _png_bomb_header(50_000, 50_000), 413),
    "one_pixel": ("dot.png", _encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"), 200),
    "cmyk_jpeg": ("cmyk.jpg", _encode(Image.new("CMYK", (48, 32), (0, 50, 100, 0)), "JPEG"), 200),
    "animated_gif": ("anim.gif", _gif_animated(), 200),
    "empty_file": ("empty.jpg", b"", 422),
}


def _live(server) -> None:
    response = httpx.get(f"{server.url}/v2/health/live")
    assert response.status_code == 200 and response.json() == {"live": True}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_image_gets_the_right_code(server, case):
    filename, data, expected = CASES[case]
    response = httpx.post(
        f"{server.url}/v1/models/test_classifier:predict", files={"image": (filename, data)}
    )
    assert response.status_code == expected, response.text
    body = response.json()
    if expected == 200:
        assert body["results"][0]["task"] == "classify"
    else:
        assert body["error"]["code"] == expected and filename in body["error"]["message"]
    _live(server)


def test_path_traversal_filename_is_only_a_label(server, tmp_path):
    target = Path("/tmp/visiona_traversal_probe.jpg")
    target.unlink(missing_ok=True)
    name = "../../../../tmp/visiona_traversal_probe.jpg"
    response = httpx.post(
        f"{server.url}/v1/models/test_classifier:predict", files={"image": (name, JPEG)}
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["source"] == "visiona_traversal_probe.jpg"
    assert not target.exists()
    _live(server)


def test_oversized_body_is_413_announced_or_chunked(server):
    url = f"{server.url}/v1/models/test_classifier:predict"
    big = b"\xff" * (2 * 1024 * 1024)  # the fixture's server allows 1 MB
    announced = httpx.post(url, content=big, headers={"content-type": "image/jpeg"})
    assert announced.status_code == 413 and "larger than" in announced.json()["error"]["message"]

    def chunks():
        for _ in range(32):
            yield b"\x00" * 65536

    chunked = httpx.post(url, content=chunks(), headers={"content-type": "image/jpeg"})
    assert chunked.status_code == 413
    _live(server)


def test_too_many_files_bad_json_and_content_type(server):
    url = f"{server.url}/v1/models/test_classifier:predict"
    files = [("image", (f"{i}.jpg", JPEG)) for i in range(5)]  # the limit is 4
    assert httpx.post(url, files=files).status_code == 413
    assert httpx.post(url, json={"images": ["@@not base64@@"]}).status_code == 400
    assert httpx.post(url, json={"pictures": []}).status_code == 400
    bad_json = httpx.post(url, content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400
    text = httpx.post(url, content=b"hi", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    assert httpx.post(url, files={"note": (None, "no file")}).status_code == 400
    _live(server)


def test_burst_of_bad_requests_leaves_server_healthy(server):
    url = f"{server.url}/v1/models/test_classifier:predict"

    def send(i: int) -> int:
        filename, data, _ = CASES[sorted(CASES)[i % len(CASES)]]
        return httpx.post(url, files={"image": (filename, data)}, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(send, range(40)))
    assert all(code < 500 for code in codes), codes
    _live(server)
