"""The REST API against a real server process: listing, predict forms, options, metrics, client."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from serve_support import wait_for
from tests_support import NET_GUARD
from visiona.client import Client, ServerError
from visiona.results.classification import Classification
from visiona.results.detections import Detections


def _jpeg(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_models_lists_task_classes_size_and_version(server):
    models = {m["name"]: m for m in httpx.get(f"{server.url}/v1/models").json()["models"]}
    assert set(models) == {"test_classifier", "det", "seg", "kp"}
    assert models["seg"]["task"] == "segment-instances" and models["kp"]["task"] == "keypoints"
    clf = models["test_classifier"]
    assert clf["task"] == "classify" and clf["input_size"] == [32, 32]
    assert len(clf["classes"]) == 10 and clf["version"] == 1 and clf["backend"]
    assert models["det"]["task"] == "detect" and "conf" in models["det"]["options"]
    from visiona import defaults  # the CLI's defaults, so CLI, server and page agree

    assert models["det"]["option_defaults"]["conf"] == defaults.DETECT_CONF
    assert models["det"]["option_defaults"]["iou"] == defaults.DETECT_IOU
    assert clf["option_defaults"] == {"top_k": defaults.TOP_K}


def test_predict_multipart_json_and_raw_body_agree(server):
    data = _jpeg()
    url = f"{server.url}/v1/models/test_classifier:predict"
    multipart = httpx.post(url, files={"image": ("a.jpg", data)}, params={"top_k": 3})
    as_json = httpx.post(
        url, json={"images": [base64.b64encode(data).decode()], "options": {"top_k": 3}}
    )
    raw = httpx.post(url, content=data, headers={"content-type": "image/jpeg"}, params={"top_k": 3})
    bodies = [r.json() for r in (multipart, as_json, raw)]
    assert [r.status_code for r in (multipart, as_json, raw)] == [200, 200, 200]
    tops = [b["results"][0]["top"] for b in bodies]
    assert len(tops[0]) == 3
    assert tops[0] == tops[1] == tops[2]
    assert bodies[0]["results"][0]["source"] == "a.jpg"
    assert bodies[0]["results"][0]["image_size"] == [64, 48]


def test_several_images_in_one_request_keep_their_order(server):
    files = [("image", (f"{i}.jpg", _jpeg(colour=(i * 60, 0, 0)))) for i in range(3)]
    response = httpx.post(f"{server.url}/v1/models/test_classifier:predict", files=files)
    assert response.status_code == 200
    assert [r["source"] for r in response.json()["results"]] == ["0.jpg", "1.jpg", "2.jpg"]


def test_detection_options_change_the_result(server):
    url = f"{server.url}/v1/models/det:predict"
    files = {"image": ("d.jpg", _jpeg((96, 96)))}
    loose = httpx.post(url, files=files, data={"conf": "0.0"}).json()["results"][0]
    strict = httpx.post(url, files=files, data={"conf": "1.0"}).json()["results"][0]
    assert loose["task"] == "detect"
    assert len(strict["objects"]) == 0 < len(loose["objects"])


def test_bad_options_and_unknown_model_are_4xx_json(server):
    url = f"{server.url}/v1/models/test_classifier:predict"
    files = {"image": ("a.jpg", _jpeg())}
    unknown = httpx.post(url, files=files, data={"colour": "red"})
    assert unknown.status_code == 400 and "top_k" in unknown.json()["error"]["message"]
    assert httpx.post(url, files=files, data={"top_k": "many"}).status_code == 400
    missing = httpx.post(f"{server.url}/v1/models/nope:predict", files=files)
    assert missing.status_code == 404 and "test_classifier" in missing.json()["error"]["message"]


def test_metrics_docs_health_and_closed_cors(server):
    httpx.post(f"{server.url}/v1/models/test_classifier:predict", files={"i": ("a.jpg", _jpeg())})
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'visiona_requests_total{code="200",model="test_classifier"}' in metrics
    assert "visiona_batch_size_bucket" in metrics and "visiona_queue_depth" in metrics
    assert "visiona_request_latency_seconds_bucket" in metrics
    assert httpx.get(f"{server.url}/docs").status_code == 200
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v1/models/{name}:predict" in spec["paths"]
    assert httpx.get(f"{server.url}/v2/health/live").json() == {"live": True}
    preflight = httpx.options(
        f"{server.url}/v1/models",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_client_returns_result_objects(server, tmp_path):
    path = tmp_path / "c.png"
    Image.new("RGB", (40, 30), (0, 90, 200)).save(path)
    with Client(server.url) as client:
        result = client.predict("test_classifier", path, top_k=2)
        assert isinstance(result, Classification)
        assert len(result.labels) == 2 and result.source == "c.png"
        from_array = client.predict("test_classifier", np.asarray(Image.open(path)), top_k=2)
        assert from_array.labels == result.labels
        detections = client.predict("det", path, conf=0.0)
        assert isinstance(detections, Detections) and detections.image_size == (40, 30)
        assert {m["name"] for m in client.models()} >= {"test_classifier", "det"}
        try:
            client.predict("missing", path)
        except ServerError as error:
            assert error.status == 404
        else:  # pragma: no cover - the assertion above must run
            raise AssertionError("expected a 404")


def test_management_needs_token_and_keeps_old_model_on_failure(server, tmp_path):
    body = {"name": "extra", "source": "test_classifier", "pretrained": False}
    assert httpx.post(f"{server.url}/v1/models", json=body).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(f"{server.url}/v1/models", json=body, headers=wrong).status_code == 401
    with Client(server.url, token=server.token) as client:
        loaded = client.load("extra", "test_classifier", pretrained=False)
        assert loaded["version"] == 1 and loaded["task"] == "classify"
        for source in ("http://example.com/evil.safetensors", str(tmp_path / "none.safetensors"),
                       str(tmp_path / "model.onnx"),
                       "no_such_model"):  # fmt: skip
            try:
                client.load("extra", source)
            except ServerError as error:
                assert 400 <= error.status < 500
            else:  # pragma: no cover
                raise AssertionError(f"loading {source} should fail")
        # The failed loads left version 1 serving.
        assert client.predict("extra", _jpeg()).task == "classify"
        assert {m["name"]: m["version"] for m in client.models()}["extra"] == 1
        assert client.load("extra", "test_classifier", pretrained=False)["version"] == 2
        client.unload("extra")
        assert "extra" not in {m["name"] for m in client.models()}
    assert httpx.delete(f"{server.url}/v1/models/det").status_code == 401


def test_not_ready_while_a_model_loads(server):
    import threading

    # test_gated_classifier's load waits until the test opens the gate: the server is held in
    # its "loading" state for exactly as long as the test needs, no race with the load's speed.
    def load() -> None:
        with Client(server.url, token=server.token) as client:
            client.load("gated", "test_gated_classifier", pretrained=False)

    server.gate.close("load")
    thread = threading.Thread(target=load)
    thread.start()
    try:
        wait_for(lambda: server.gate.waiting("load"), "the model load to start")
        ready = httpx.get(f"{server.url}/v2/health/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
    finally:
        server.gate.open("load")
        thread.join()
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
    with Client(server.url, token=server.token) as client:
        assert "gated" in {m["name"] for m in client.models()}
        client.unload("gated")


def test_server_process_is_offline_and_network_guarded(server):
    """The module-scoped server starts before any per-test fixture: it still gets the offline
    environment and the socket guard (tests/net_guard on its PYTHONPATH)."""
    environ = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
    env = dict(entry.decode().split("=", 1) for entry in environ if b"=" in entry)
    assert env["HF_HUB_OFFLINE"] == "1"
    assert str(NET_GUARD) == env["PYTHONPATH"].split(os.pathsep)[0]
    assert "VISIONA_OFFLINE" not in env and "HF_ENDPOINT" not in env
    assert Path(env["TORCH_HOME"]).is_relative_to(Path(env["VISIONA_HOME"]))


def test_an_exported_onnx_file_serves_like_the_checkpoint(server, tmp_path):
    from colour_model import colour_checkpoint
    from visiona.engine.export.onnx import export_onnx
    from visiona.models.load import load_model

    checkpoint = colour_checkpoint(tmp_path / "run" / "best")
    onnx_file = tmp_path / "colours.onnx"
    export_onnx(
        load_model(str(checkpoint)), onnx_file, verify_images=[np.zeros((8, 8, 3), "uint8")]
    )
    with Client(server.url, token=server.token) as client:
        client.load("colours-onnx", str(onnx_file))
        client.load("colours-torch", str(checkpoint))
        models = {m["name"]: m for m in client.models()}
        assert models["colours-onnx"]["task"] == "classify"
        assert "Onnx" in models["colours-onnx"]["backend"]
        image = _jpeg(colour=(20, 200, 40))
        from_onnx = client.predict("colours-onnx", image)
        from_torch = client.predict("colours-torch", image)
        assert from_onnx.top1[0] == from_torch.top1[0]
        assert abs(from_onnx.top1[1] - from_torch.top1[1]) < 1e-3
        client.unload("colours-onnx")
        client.unload("colours-torch")
