"""Segmentation on the server and the page (colour overlay, legend, opacity), and the mask
painter at /label/masks driven in headless Chromium: strokes, polygon fill, undo, autosave."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests_support import require_browser, require_module

require_module("fastapi")
from segment_support import make_pairs, snapshot  # noqa: E402
from serve_support import start_server  # noqa: E402

pytestmark = pytest.mark.slow
FLAGS = ["--no-sandbox"]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("label_root")
    make_pairs(root / "photos", count=2, size=96)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, labelled):
    home = tmp_path_factory.mktemp("serve_home")
    srv = start_server("segm=unet_tiny", "--random-init", "--label-root", str(labelled), home=home)
    yield srv
    assert srv.stop() == 0


def _png(size=(70, 50)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_server_segments_with_tiling_options(server) -> None:
    info = httpx.get(f"{server.url}/v1/models/segm").json()
    assert info["task"] == "segment" and set(info["options"]) >= {"tile", "overlap"}
    response = httpx.post(
        f"{server.url}/v1/models/segm:predict", files={"image": ("a.png", _png())},
        data={"tile": "32", "overlap": "8"}, timeout=60,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["image_size"] == [70, 50]
    assert sum(c["area"] for c in result["classes"]) == 70 * 50
    bad = httpx.post(f"{server.url}/v1/models/segm:predict", files={"image": ("a.png", _png())},
                     data={"tile": "8"}, timeout=60)  # fmt: skip
    assert bad.status_code == 400 and "--tile" in bad.json()["error"]["message"]


def test_painter_refuses_folders_it_must_not_touch(server, labelled) -> None:
    url = f"{server.url}/v1/label/folder"
    assert httpx.get(url, params={"folder": "/etc"}).status_code == 403
    inside = httpx.get(url, params={"folder": "photos", "labels": "photos/images"})
    assert inside.status_code == 400 and "must not be the images folder" in inside.text
    listing = httpx.get(url, params={"folder": "photos/images"}).json()
    assert [i["name"] for i in listing["images"]] == ["000.png", "001.png"]
    assert listing["labels"].endswith("images-labels")


sync_api = require_module("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    executable = require_browser()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=FLAGS
        )
        yield chromium
        chromium.close()


def _page(browser, url):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


def test_page_draws_segmentation_overlay_with_legend(browser, server, tmp_path) -> None:
    page, errors = _page(browser, server.url + "/")
    page.wait_for_function("document.querySelectorAll('#model option').length >= 1")
    path = tmp_path / "upload.png"
    path.write_bytes(_png((64, 64)))
    page.select_option("#model", "segm")
    page.set_input_files("#file", str(path))
    page.wait_for_function("window.visionaLast && window.visionaLast.task === 'segment'",
                           timeout=60_000)  # fmt: skip
    last = page.evaluate("window.visionaLast")
    assert last["masks"] >= 1 and "%" in last["text"]
    assert page.is_visible("#opacity")
    pixel = "Array.from(document.getElementById('canvas').getContext('2d')" \
            ".getImageData(40, 60, 1, 1).data)"  # fmt: skip
    before = page.evaluate(pixel)
    page.fill("#opacity", "0")
    page.dispatch_event("#opacity", "input")
    assert page.evaluate(pixel)[:3] == [200, 30, 30]  # opacity 0: the image itself
    assert page.evaluate(pixel) != before or before[:3] == [200, 30, 30]
    assert errors == []
    page.close()


def test_painter_strokes_polygon_undo_are_saved_as_palette_pngs(browser, server, labelled):
    images = labelled / "photos" / "images"
    before = snapshot(images)
    page, errors = _page(
        browser, server.url + "/label/masks?folder=photos/images&labels=painted"
        "&classes=background,square,sky",
    )  # fmt: skip
    page.wait_for_function("window.visionaPainter.ready", timeout=30_000)

    def at(x: float, y: float) -> tuple[float, float]:
        # Measured at each use: filling an input or clicking a button may scroll the page.
        box = page.locator("#mask").bounding_box()
        scale = box["width"] / 96
        return box["x"] + x * scale, box["y"] + y * scale

    # A horizontal brush stroke of class 1 (size 10) along y = 20 from x = 10 to 80.
    page.fill("#size", "10")
    page.locator("#mask").scroll_into_view_if_needed()
    page.mouse.move(*at(10, 20))
    page.mouse.down()
    for x in range(10, 81, 5):
        page.mouse.move(*at(x, 20))
    page.mouse.up()
    page.wait_for_function("window.visionaPainter.saves >= 1")
    mask_file = labelled / "painted" / "masks" / "000.png"
    ids = np.asarray(Image.open(mask_file))
    assert Image.open(mask_file).mode == "P"
    assert (ids[18:23, 15:76] == 1).all() and ids[50, 50] == 0 and ids[35, 40] == 0

    # Polygon of class 2 (key "2", tool "g"), closed with Enter; then undo removes it.
    page.keyboard.press("2")
    page.keyboard.press("g")
    for point in ((40, 50), (90, 50), (90, 90), (40, 90)):
        page.mouse.click(*at(*point))
    page.keyboard.press("Enter")
    page.wait_for_function("window.visionaPainter.saves >= 2")
    page.wait_for_function("window.visionaPainter.status.startsWith('saved')")
    ids = np.asarray(Image.open(mask_file))
    assert (ids[55:85, 45:85] == 2).all() and ids[20, 40] == 1
    page.keyboard.press("Control+z")
    page.wait_for_function("window.visionaPainter.saves >= 3")
    page.wait_for_function("window.visionaPainter.status.startsWith('saved')")
    ids = np.asarray(Image.open(mask_file))
    assert (ids[55:85, 45:85] == 0).all() and ids[20, 40] == 1

    # Next image: its own (empty) mask; the eraser on it saves background.
    page.click("#next")
    page.wait_for_function("window.visionaPainter.image === '001.png'")
    page.keyboard.press("e")
    page.mouse.click(*at(30, 30))
    page.wait_for_function("window.visionaPainter.saves >= 4")
    assert (np.asarray(Image.open(labelled / "painted" / "masks" / "001.png")) == 0).all()
    assert errors == []
    page.close()
    assert snapshot(images) == before  # the images folder was never written to

    # The labels folder trains directly: it reads as a data set with the painter's classes.
    from visiona.data.segmentation.dataset import read_segmentation_dataset

    dataset = read_segmentation_dataset(labelled / "painted")
    assert dataset.classes == ("background", "square", "sky")
    assert len(dataset.labelled()) == 2
