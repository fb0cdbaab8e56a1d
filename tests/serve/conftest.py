"""A shared server process for the API tests (random-init models, fast to load)."""

from __future__ import annotations

import pytest

from tests_support import require_module

SERVE_INSTALL = "pip install -e '.[serve]'"

require_module("fastapi", SERVE_INSTALL)
require_module("httpx", SERVE_INSTALL)

from serve_support import start_server  # noqa: E402 - needs httpx, checked above


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
