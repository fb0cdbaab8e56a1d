"""The WebSocket streaming endpoint: JPEG frames in, results out, stale frames dropped."""

from __future__ import annotations

import io
import json
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from visiona.serve.app import ServeConfig, create_app


def _jpeg(shade: int, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client():
    app = create_app(ServeConfig(models=[("cls", "test_classifier")], pretrained=False))
    with TestClient(app) as test_client:
        deadline = time.monotonic() + 60
        while test_client.get("/v2/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "model did not load"
            time.sleep(0.1)
        yield test_client


def test_frames_get_results_in_order(client) -> None:
    with client.websocket_connect("/v1/models/cls:stream") as socket:
        socket.send_text(json.dumps({"options": {"top_k": 2}}))
        answers = []
        for shade in (10, 120, 240):
            socket.send_bytes(_jpeg(shade))
            answers.append(socket.receive_json())
    assert [a["frame"] for a in answers] == [0, 1, 2]
    assert all(a["result"]["task"] == "classify" and len(a["result"]["top"]) == 2 for a in answers)
    assert answers[0]["model"] == "cls" and answers[0]["latency_ms"] >= 0


def test_a_burst_of_frames_is_answered_for_the_newest_without_queueing(client) -> None:
    with client.websocket_connect("/v1/models/cls:stream") as socket:
        for shade in range(40):
            socket.send_bytes(_jpeg(shade * 6))
        answers = [socket.receive_json()]
        while answers[-1]["frame"] != 39:
            answers.append(socket.receive_json())
    frames = [a["frame"] for a in answers]
    assert frames == sorted(frames) and frames[-1] == 39
    assert len(answers) < 40 and answers[-1]["dropped"] == 40 - len(answers)


def test_bad_frames_and_options_answer_errors_and_keep_the_connection(client) -> None:
    with client.websocket_connect("/v1/models/cls:stream") as socket:
        socket.send_bytes(b"not a jpeg")
        bad = socket.receive_json()
        socket.send_text(json.dumps({"options": {"bogus": 1}}))
        socket.send_bytes(_jpeg(50))
        bad_option = socket.receive_json()
        socket.send_text(json.dumps({"options": {}}))
        socket.send_bytes(_jpeg(50))
        good = socket.receive_json()
    assert bad["frame"] == 0 and bad["error"]["code"] in (415, 422)
    assert bad_option["error"]["code"] == 400 and "bogus" in bad_option["error"]["message"]
    assert good["frame"] == 2 and good["result"]["task"] == "classify"


def test_unknown_model_closes_with_an_error(client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/v1/models/nope:stream") as socket:
        assert socket.receive_json()["error"]["code"] == 404
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4404
