"""``POST /v1/indexes/{name}:search`` on a real server process, with an index built on photos."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from serve_support import start_server
from tests_support import require_browser, require_module


@pytest.fixture(scope="module")
def index_server(tmp_path_factory: pytest.TempPathFactory):
    from skimage import data

    from visiona.engine.embed.index import build_index

    root = tmp_path_factory.mktemp("indexed")
    folder = root / "photos"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee"):
        image = Image.fromarray(getattr(data, name)())
        image.thumbnail((128, 128))
        image.save(folder / f"{name}.png")
    index = build_index(folder, root / "photos.index").path
    srv = start_server("test_classifier", "--random-init", "--index", f"photos={index}",
                       home=root / "home")  # fmt: skip
    yield srv, folder
    assert srv.stop() == 0


def test_image_query_finds_itself_and_thumbnails_are_served(index_server) -> None:
    srv, folder = index_server
    assert httpx.get(f"{srv.url}/v1/indexes").json() == {"indexes": ["photos"]}
    raw = (folder / "coffee.png").read_bytes()
    answer = httpx.post(f"{srv.url}/v1/indexes/photos:search?k=2", content=raw,
                        headers={"content-type": "image/png"}, timeout=120)  # fmt: skip
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    assert [hit["rank"] for hit in hits] == [1, 2] and hits[0]["path"] == "coffee.png"
    as_json = httpx.post(f"{srv.url}/v1/indexes/photos:search",
                         json={"image": base64.b64encode(raw).decode(), "k": 1}, timeout=120)  # fmt: skip
    assert as_json.json()["hits"][0]["path"] == "coffee.png"
    thumbnail = httpx.get(srv.url + hits[0]["thumbnail"])
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) <= 256


def test_bad_search_requests_are_4xx(index_server) -> None:
    srv, _ = index_server
    text = httpx.post(f"{srv.url}/v1/indexes/photos:search", json={"text": "a cat"}, timeout=120)
    assert text.status_code == 400 and "CLIP" in text.json()["error"]["message"]
    missing = httpx.post(f"{srv.url}/v1/indexes/nope:search", json={"text": "x"})
    assert missing.status_code == 404
    bad_k = httpx.post(f"{srv.url}/v1/indexes/photos:search", json={"text": "x", "k": 0})
    assert bad_k.status_code == 400
    neither = httpx.post(f"{srv.url}/v1/indexes/photos:search", json={})
    assert neither.status_code == 400
    assert httpx.get(f"{srv.url}/v1/indexes/photos/images/99").status_code == 404


@pytest.mark.slow
def test_page_search_box_shows_hit_thumbnails(index_server) -> None:
    sync_api = require_module("playwright.sync_api")
    chromium = require_browser()
    srv, folder = index_server
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(srv.url + "/")
        page.wait_for_selector("#search-index")
        page.set_input_files("#search-file", str(folder / "chelsea.png"))
        page.wait_for_function(
            "document.querySelectorAll('#search-hits .hit img').length >= 3", timeout=120_000
        )
        first = page.inner_text("#search-hits .hit figcaption")
        page.wait_for_function(  # every thumbnail fetched from /v1/indexes/.../images/ROW
            "[...document.querySelectorAll('#search-hits .hit img')]"
            ".every(i => i.complete && i.naturalWidth > 0)",
            timeout=60_000,
        )
        browser.close()
    assert "chelsea.png" in first and first.startswith("#1")
    assert errors == []
