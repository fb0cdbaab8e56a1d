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
    assert last["transport"] == "websocket"  # live mode streams over /v1/models/det:stream
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


# -- the lab page: fixes and additions (issue 12) ----------------------------------------------


def _upload(page, path, model: str | None = None) -> dict:
    """Choose ``model`` (if given), upload ``path`` and wait for its drawn result (or error)."""
    if model is not None:
        page.select_option("#model", model)  # re-runs the image shown before: let it finish
    _settle(page)
    page.evaluate("window.visionaLast = null")
    page.set_input_files("#file", str(path))
    page.wait_for_function("window.visionaLast !== null", timeout=60_000)
    return page.evaluate("window.visionaLast")


def _settle(page) -> None:
    page.wait_for_function("!document.body.dataset.busy", timeout=60_000)


def _wait_for(page, condition: str) -> dict:
    page.wait_for_function(f"window.visionaLast && ({condition})", timeout=60_000)
    return page.evaluate("window.visionaLast")


def _grey(tmp_path, name: str = "grey.png", size=(120, 90)):
    path = tmp_path / name
    Image.new("RGB", size, (40, 40, 40)).save(path)
    return path


def test_switching_the_model_reruns_the_current_image(page, tmp_path):
    first = _upload(page, _grey(tmp_path), "test_classifier")
    assert first["model"] == "test_classifier" and first["task"] == "classify"
    page.select_option("#model", "det")
    last = _wait_for(page, "window.visionaLast.model === 'det'")
    assert last["task"] == "detect" and (last["width"], last["height"]) == (120, 90)
    # Nothing of the classifier's result is left: no "NN.N%" label line.
    assert "%" not in page.text_content("#prediction")


def test_choosing_the_same_file_again_runs_again(page, tmp_path):
    path = _grey(tmp_path)
    assert _upload(page, path, "test_classifier")["task"] == "classify"
    assert _upload(page, path)["task"] == "classify"  # waits for a second, fresh result


def test_a_non_image_upload_shows_the_servers_error(page, server, tmp_path):
    import httpx

    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    expected = httpx.post(
        f"{server.url}/v1/models/test_classifier:predict",
        files={"image": ("notes.png", path.read_bytes())},
    ).json()["error"]["message"]
    last = _upload(page, path, "test_classifier")
    assert last["error"] == expected
    assert expected in page.text_content("#status")
    assert expected in page.text_content("#prediction")


def test_drop_and_paste_an_image(page):
    page.select_option("#model", "test_classifier")
    for event in ("drop", "paste"):
        _settle(page)
        page.evaluate("window.visionaLast = null")
        page.evaluate(
            """async (kind) => {
                const blob = await (await fetch('/static/examples/shapes.png')).blob();
                const data = new DataTransfer();
                data.items.add(new File([blob], kind + '.png', {type: 'image/png'}));
                if (kind === 'drop') {
                    document.getElementById('drop').dispatchEvent(new DragEvent('drop',
                        {dataTransfer: data, bubbles: true, cancelable: true}));
                } else {
                    document.dispatchEvent(new ClipboardEvent('paste',
                        {clipboardData: data, bubbles: true, cancelable: true}));
                }
            }""",
            event,
        )
        last = _wait_for(page, "true")
        assert last.get("task") == "classify" and last["width"] == 160, (event, last)


def test_example_images_run_when_clicked(page):
    page.select_option("#model", "test_classifier")
    _settle(page)
    page.evaluate("window.visionaLast = null")
    page.click(".examples img[data-name='chelsea.jpg']")
    last = _wait_for(page, "true")
    assert last["task"] == "classify" and last["width"] == 320


def test_sliders_start_at_the_servers_defaults_and_rerun(page, server, tmp_path):
    import httpx

    defaults = httpx.get(f"{server.url}/v1/models/det").json()["option_defaults"]
    assert {"conf", "iou"} <= defaults.keys()
    _upload(page, _grey(tmp_path, "shapes.png", (128, 128)), "test_classifier")
    page.select_option("#model", "det")
    _wait_for(page, "window.visionaLast.model === 'det'")
    assert float(page.input_value("#conf")) == pytest.approx(defaults["conf"])
    assert float(page.input_value("#iou")) == pytest.approx(defaults["iou"])
    assert page.text_content("#conf-value") == f"{defaults['conf']:.2f}"
    for value, found in (("0", True), ("1", False)):
        _settle(page)
        page.evaluate("window.visionaLast = null")
        page.evaluate(
            """(v) => { const s = document.getElementById('conf'); s.value = v;
                        s.dispatchEvent(new Event('input')); }""",
            value,
        )
        last = _wait_for(page, "true")
        assert (last["overlays"] > 0) == found, value


def test_input_and_output_side_by_side_small_images_scaled_up(page, tmp_path):
    page.set_viewport_size({"width": 1200, "height": 900})
    last = _upload(page, _grey(tmp_path, "tiny.png", (16, 12)), "test_classifier")
    assert (last["width"], last["height"]) == (16, 12) and last["scale"] == 8
    boxes = page.evaluate(
        """() => ['input', 'canvas'].map((id) => {
            const c = document.getElementById(id), r = c.getBoundingClientRect();
            return {x: r.x, y: r.y, w: c.width, h: c.height, shown: r.width}; })"""
    )
    source, output = boxes
    assert (source["w"], source["h"]) == (output["w"], output["h"]) == (128, 96)
    assert source["x"] < output["x"] and abs(source["y"] - output["y"]) < 2
    assert source["shown"] >= 100  # displayed large, not as a 16-pixel speck


def test_json_tab_download_busy_and_model_description(page, tmp_path):
    _upload(page, _grey(tmp_path), "test_classifier")
    page.click("#tab-json")
    assert page.is_visible("#json") and not page.is_visible("#prediction")
    result = __import__("json").loads(page.text_content("#json"))
    assert result["task"] == "classify" and len(result["top"]) == 5
    page.click("#tab-result")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "grey-test_classifier.png"
    saved = tmp_path / "saved.png"
    download.value.save_as(saved)
    assert Image.open(saved).size == (240, 180)  # the annotated output, scaled like the page
    # The busy indicator shows while a request is in flight and hides after.
    busy = page.evaluate(
        """async () => {
            const blob = await (await fetch('/static/examples/coffee.jpg')).blob();
            window.visionaLast = null;
            useImage(blob, 'coffee.jpg');
            return !document.getElementById('busy').hidden;
        }"""
    )
    assert busy
    _wait_for(page, "true")
    assert page.is_hidden("#busy")
    info = page.text_content("#model-info")
    assert "classify" in info and "classes" in info and "input 32×32" in info
    description = page.text_content("#model-desc")
    assert "license:" in description and "source:" in description


def test_docs_work_offline_and_there_is_a_favicon(page, server):
    import httpx

    icon = httpx.get(f"{server.url}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    assert httpx.get(server.url + page.get_attribute("link[rel=icon]", "href")).status_code == 200
    docs = page.context.browser.new_page()  # a fresh page that may only reach the server
    outside: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    docs.route("**/*", only_loopback)
    docs.goto(server.url + "/docs")
    docs.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert "visiona" in docs.text_content(".swagger-ui .info")
    assert outside == []
    docs.close()
