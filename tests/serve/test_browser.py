"""The web page in headless Chromium (Debian's, driven by Playwright) with a fake webcam."""

from __future__ import annotations

import pytest
from PIL import Image

from tests_support import require_browser, require_module

pytestmark = pytest.mark.slow

sync_api = require_module("playwright.sync_api", "pip install -e '.[dev]'")
CHROMIUM = require_browser()

FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox"]


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/")
        page.wait_for_function("document.querySelectorAll('#model option').length >= 4")
        yield page
        assert errors == []
        browser.close()


def _canvas_has_colour(page, rgb: tuple[int, int, int]) -> bool:
    return page.evaluate(
        """([r, g, b]) => {
            const c = document.getElementById('canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4)
                if (d[i] === r && d[i + 1] === g && d[i + 2] === b) return true;
            return false;
        }""",
        list(rgb),
    )


def test_webcam_frames_get_boxes_drawn_and_fps(page):
    page.select_option("#model", "det")
    page.fill("#conf", "0")
    page.click("#webcam")
    page.wait_for_function("window.visionaLast && window.visionaLast.overlays > 0", timeout=60_000)
    last = page.evaluate("window.visionaLast")
    assert last["task"] == "detect" and last["width"] > 0
    # The fake camera's frame is on the canvas with the detector's boxes (first colour #ff3b30...).
    page.wait_for_function("document.getElementById('fps').textContent !== '–'", timeout=60_000)
    assert "ms" in page.text_content("#latency")
    assert "class_" in page.text_content("#prediction")
    palette = [(0xFF, 0x3B, 0x30), (0x34, 0xC7, 0x59), (0x0A, 0x84, 0xFF)]
    assert any(_canvas_has_colour(page, c) for c in palette)
    page.click("#webcam")  # stop
    assert page.text_content("#webcam") == "Start webcam"


def test_uploaded_image_gets_labels(page, tmp_path):
    path = tmp_path / "upload.png"
    Image.new("RGB", (120, 90), (40, 40, 40)).save(path)
    page.select_option("#model", "test_classifier")
    page.evaluate("window.visionaLast = null")
    page.set_input_files("#file", str(path))
    try:
        page.wait_for_function(
            "window.visionaLast && window.visionaLast.task === 'classify'", timeout=60_000
        )
    except sync_api.TimeoutError:  # pragma: no cover - say what the page showed
        status = page.text_content("#status")
        raise AssertionError(f"no classification shown; status: {status!r}") from None
    last = page.evaluate("window.visionaLast")
    assert last["overlays"] == 5 and (last["width"], last["height"]) == (120, 90)
    assert page.text_content("#prediction").count("%") == 5
    assert _canvas_has_colour(page, (0xFF, 0x3B, 0x30))  # the first label's banner


@pytest.mark.parametrize(("model", "task", "key"), [("seg", "segment-instances", "masks"),
                                                    ("kp", "keypoints", "points")])  # fmt: skip
def test_masks_and_keypoints_are_drawn(page, tmp_path, model, task, key):
    path = tmp_path / "shapes.png"
    image = Image.new("RGB", (128, 128), (30, 30, 30))
    image.paste((220, 220, 40), (30, 30, 100, 100))
    image.save(path)
    page.select_option("#model", model)
    page.fill("#conf", "0")
    page.evaluate("window.visionaLast = null")
    page.set_input_files("#file", str(path))
    page.wait_for_function(f"window.visionaLast && window.visionaLast.{key} > 0")
    last = page.evaluate("window.visionaLast")
    assert last["overlays"] > 0 and last["width"] == 128
    assert page.evaluate("document.getElementById('model-info').textContent").startswith(task)
