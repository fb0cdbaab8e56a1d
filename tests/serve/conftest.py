"""A shared server process for the API tests (random-init models, fast to load)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install .[serve])")
pytest.importorskip("httpx", reason="the serve extra is not installed (pip install .[serve])")

from serve_support import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("serve_home")
    srv = start_server(
        "test_classifier", "det=fasterrcnn_small", "seg=maskrcnn_small", "kp=keypointrcnn_small",
        "--random-init",
        "--max-body-mb", "1", "--max-pixels", "4000000", "--max-files", "4",
        home=home,
    )  # fmt: skip
    yield srv
    assert srv.stop() == 0
