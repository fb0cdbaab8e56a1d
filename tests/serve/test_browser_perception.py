"""The lab page with the packaged perception models (MediaPipe): no stale overlay when the model
changes, and matting drawn as a cut-out or a mask. Headless Debian Chromium via Playwright."""

from __future__ import annotations

import pytest

from tests_support import require_browser, require_module

pytestmark = pytest.mark.slow

sync_api = require_module("playwright.sync_api")
CHROMIUM = require_browser()
require_module("mediapipe")

from serve_support import start_server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server("faces", "pose", "matting", home=tmp_path_factory.mktemp("serve_home"))
    yield srv
    assert srv.stop() == 0


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/")
        page.wait_for_function("document.querySelectorAll('#model option').length >= 3")
        yield page
        assert errors == []
        browser.close()


def _settle_and_reset(page) -> None:
    page.wait_for_function("!document.body.dataset.busy", timeout=60_000)
    page.evaluate("window.visionaLast = null")


def _wait(page, condition: str) -> dict:
    page.wait_for_function(f"window.visionaLast && ({condition})", timeout=60_000)
    return page.evaluate("window.visionaLast")


def _pixels(page, rgb: tuple[int, int, int]) -> int:
    return page.evaluate(
        """([r, g, b]) => {
            const c = document.getElementById('canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4)
                if (d[i] === r && d[i + 1] === g && d[i + 2] === b) n++;
            return n;
        }""",
        list(rgb),
    )


def test_switching_pose_to_faces_leaves_no_skeleton(page):
    page.select_option("#model", "pose")
    _settle_and_reset(page)
    page.click(".examples img[data-name='astronaut.jpg']")
    pose = _wait(page, "true")
    assert pose["model"] == "pose" and pose["points"] > 0
    page.select_option("#model", "faces")
    faces = _wait(page, "window.visionaLast.model === 'faces'")
    assert faces["task"] == "faces" and faces["overlays"] >= 1 and faces["points"] == 0
    assert "face" in page.text_content("#prediction")
    assert "instances" not in page.text_content("#json")


def test_matting_is_drawn_as_a_cut_out_or_a_mask(page):
    page.select_option("#model", "matting")
    _settle_and_reset(page)
    page.click(".examples img[data-name='astronaut.jpg']")
    matte = _wait(page, "true")
    assert matte["task"] == "matting" and matte["masks"] == 1
    text = page.text_content("#prediction")
    assert "person" in text and "nothing found" not in text
    coverage = float(text.split("person ")[1].split(" %")[0])
    assert 5 < coverage < 95
    assert _pixels(page, (0xCF, 0xCF, 0xCF)) > 0  # the checkerboard behind the cut-out
    _settle_and_reset(page)
    page.select_option("#matte-view", "mask")
    _wait(page, "true")
    white, black = _pixels(page, (255, 255, 255)), _pixels(page, (0, 0, 0))
    share = white / (white + black)
    assert white > 0 and black > 0 and share == pytest.approx(coverage / 100, abs=0.02)
