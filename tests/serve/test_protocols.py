"""KServe v2 (with the real ``tritonclient``) and TF-Serving REST against a real server process."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import pytest
from PIL import Image

from serve_support import start_server
from tests_support import require_module

DEV_INSTALL = "pip install -e '.[dev]'"
httpclient = require_module("tritonclient.http", DEV_INSTALL)
from tritonclient.utils import InferenceServerException  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(
        "test_classifier", "det=fasterrcnn_small", "--random-init", "--max-files", "4",
        home=tmp_path_factory.mktemp("serve_home"),
    )  # fmt: skip
    yield srv
    assert srv.stop() == 0


@pytest.fixture()
def triton(server):
    client = httpclient.InferenceServerClient(server.url.removeprefix("http://"))
    yield client
    client.close()


def _encoded(size=(64, 48), colour=(200, 30, 30), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def _pixels(size=(96, 96)) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _predict(server, name: str, data: bytes, **options) -> dict:
    url = f"{server.url}/v1/models/{name}:predict"
    response = httpx.post(url, files={"image": ("a.png", data)}, params=options)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def test_server_and_model_metadata_through_tritonclient(triton):
    assert triton.is_server_live() and triton.is_server_ready()
    metadata = triton.get_server_metadata()
    assert metadata["name"] == "visiona" and "binary_tensor_data" in metadata["extensions"]
    assert triton.is_model_ready("test_classifier") and triton.is_model_ready("det", "1")
    assert not triton.is_model_ready("nope") and not triton.is_model_ready("det", "7")
    model = triton.get_model_metadata("det")
    assert model["versions"] == ["1"]
    assert model["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    outputs = {o["name"]: (o["datatype"], o["shape"]) for o in model["outputs"]}
    assert outputs["boxes"] == ("FP32", [-1, 4]) and outputs["labels"] == ("BYTES", [-1])
    assert outputs["result"] == ("BYTES", [-1]) and "image_index" in outputs
    classify = {o["name"] for o in triton.get_model_metadata("test_classifier")["outputs"]}
    config = triton.get_model_config("det")
    assert config["input"][0]["data_type"] == "TYPE_STRING" and config["max_batch_size"] == 0
    index = {m["name"]: m["state"] for m in triton.get_model_repository_index()}
    assert index == {"test_classifier": "READY", "det": "READY"}
    assert classify == {"labels", "scores", "class_ids", "result"}


def test_bytes_tensor_infer_matches_predict(server, triton):
    images = [_encoded(colour=(200, 30, 30)), _encoded(colour=(10, 40, 220), fmt="PNG")]
    tensor = httpclient.InferInput("image", [2], "BYTES")
    tensor.set_data_from_numpy(np.array(images, dtype=np.object_))  # binary data (the default)
    result = triton.infer("test_classifier", [tensor], request_id="req-7", parameters={"top_k": 3})
    assert result.get_response()["id"] == "req-7"
    labels, scores = result.as_numpy("labels"), result.as_numpy("scores")
    assert labels.shape == (2, 3) and scores.shape == (2, 3) and scores.dtype == np.float32
    for index, data in enumerate(images):
        expected = _predict(server, "test_classifier", data, top_k=3)
        got = json.loads(result.as_numpy("result")[index])  # batched: float noise only
        assert [t["label"] for t in got["top"]] == [t["label"] for t in expected["top"]]
        assert [t["label"] for t in expected["top"]] == [v.decode() for v in labels[index]]
        assert np.allclose(scores[index], [t["probability"] for t in expected["top"]], atol=1e-6)
    # Only the outputs asked for, here as JSON (not binary) data.
    only = triton.infer(
        "test_classifier", [tensor],
        outputs=[httpclient.InferRequestedOutput("class_ids", binary_data=False)],
    )  # fmt: skip
    assert [o["name"] for o in only.get_response()["outputs"]] == ["class_ids"]
    assert only.as_numpy("class_ids").shape[0] == 2


def test_uint8_tensor_infer_detects_like_predict(server, triton):
    pixels = _pixels()
    expected = _predict(server, "det", _png(pixels), conf=0.0)
    assert expected["objects"], "a random-init detector at conf 0 finds something"
    for binary in (True, False):  # binary tensor data, then JSON data
        tensor = httpclient.InferInput("image", [1, *pixels.shape], "UINT8")
        tensor.set_data_from_numpy(pixels[None], binary_data=binary)
        outputs = [httpclient.InferRequestedOutput(n, binary_data=binary)
                   for n in ("boxes", "scores", "labels", "image_index")]  # fmt: skip
        result = triton.infer("det", [tensor], outputs=outputs, parameters={"conf": 0.0})
        boxes = result.as_numpy("boxes")
        assert boxes.shape == (len(expected["objects"]), 4) and boxes.dtype == np.float32
        assert np.allclose(boxes, [o["box"] for o in expected["objects"]], atol=1e-3)
        labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("labels")]
        assert labels == [o["label"] for o in expected["objects"]]
        assert set(result.as_numpy("image_index").tolist()) == {0}


def test_json_bytes_nested_pixels_and_errors_over_plain_http(server):
    url = f"{server.url}/v2/models/test_classifier/infer"
    b64 = base64.b64encode(_encoded()).decode()
    body = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [b64]}]}
    answer = httpx.post(url, json=body)
    assert answer.status_code == 200
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["labels"]["shape"] == [1, 5] and len(outputs["scores"]["data"]) == 5
    nested = _pixels((8, 6)).tolist()  # [H][W][3], unflattened
    pixels = {"inputs": [{"name": "image", "datatype": "UINT8", "shape": [6, 8, 3],
                          "data": nested}]}  # fmt: skip
    assert httpx.post(url, json=pixels).status_code == 200
    bad = [
        ({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1], "data": [1]}]}, 400),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["@@"]}]}, 400),
        ({"inputs": [{**body["inputs"][0], "data": [b64] * 5, "shape": [5]}]}, 413),
        ({**body, "outputs": [{"name": "masks"}]}, 400),
        ({**body, "parameters": {"colour": "red"}}, 400),
        ({"inputs": "image"}, 400),
    ]
    for request, status in bad:
        response = httpx.post(url, json=request)
        assert response.status_code == status, (request, response.text)
        assert isinstance(response.json()["error"], str)
    missing = httpx.post(f"{server.url}/v2/models/nope/infer", json=body)
    assert missing.status_code == 404 and "test_classifier" in missing.json()["error"]
    metrics = httpx.get(f"{server.url}/metrics").text  # counted like :predict
    assert 'visiona_requests_total{code="413",model="test_classifier"}' in metrics


def test_tritonclient_errors_carry_the_message(triton):
    tensor = httpclient.InferInput("image", [1], "BYTES")
    tensor.set_data_from_numpy(np.array([b"not an image"], dtype=np.object_))
    with pytest.raises(InferenceServerException) as error:
        triton.infer("test_classifier", [tensor])
    assert error.value.status() in ("415", "422") and "image" in error.value.message()
    with pytest.raises(InferenceServerException) as error:
        triton.get_model_metadata("nope")
    assert error.value.status() == "404" and "no model named 'nope'" in error.value.message()


def test_tf_serving_row_and_columnar_formats(server):
    data = _encoded(colour=(20, 200, 40))
    b64 = base64.b64encode(data).decode()
    expected = _predict(server, "test_classifier", data, top_k=2)
    url = f"{server.url}/v1/models/test_classifier:predict"
    rows = httpx.post(url, json={"instances": [{"b64": b64}, {"image": {"b64": b64}}],
                                 "options": {"top_k": 2}})  # fmt: skip
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    assert len(predictions) == 2 and predictions[0]["labels"] == predictions[1]["labels"]
    assert predictions[0]["labels"] == [t["label"] for t in expected["top"]]
    assert predictions[0]["result"]["source"] == "image0"
    assert np.allclose(predictions[0]["scores"], [t["probability"] for t in expected["top"]])
    columns = httpx.post(url, json={"signature_name": "serving_default",
                                    "inputs": {"image": [{"b64": b64}]}})  # fmt: skip
    outputs = columns.json()["outputs"]
    assert outputs["labels"][0][:2] == predictions[0]["labels"]
    # curl -d sends form-urlencoded; TF-Serving reads the JSON anyway.
    curl_like = httpx.post(
        url, content=json.dumps({"instances": [{"b64": b64}]}),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert curl_like.status_code == 200 and "predictions" in curl_like.json()
    versioned = httpx.post(
        f"{server.url}/v1/models/det/versions/1:predict",
        json={"instances": [_pixels((32, 32)).tolist()], "options": {"conf": 0.0}},
    )
    assert versioned.status_code == 200
    assert np.asarray(versioned.json()["predictions"][0]["boxes"]).shape[1:] == (4,)
    for bad, status in [
        ({"instances": [{"b64": "@@"}]}, 400),
        ({"instances": [{"b64": b64}], "inputs": [{"b64": b64}]}, 400),
        ({"instances": [{"b64": b64}] * 5}, 413),
        ({"instances": [{"b64": b64}], "signature_name": "other"}, 400),
    ]:
        response = httpx.post(url, json=bad)
        assert response.status_code == status and isinstance(response.json()["error"], str)
    missing = httpx.post(f"{server.url}/v1/models/nope:predict", json={"instances": []})
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)
    # visiona's own JSON format still answers visiona's shape.
    own = httpx.post(url, json={"images": [b64]})
    assert own.json()["results"][0]["task"] == "classify"
    assert httpx.post(url, json={"images": ["@@"]}).json()["error"]["code"] == 400


def test_tf_serving_model_status_metadata_and_openapi(server):
    status = httpx.get(f"{server.url}/v1/models/det").json()
    assert status["model_version_status"] == [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    ]
    assert status["task"] == "detect" and status["name"] == "det"  # visiona's fields stay
    assert httpx.get(f"{server.url}/v1/models/det/versions/1").json() == {
        "model_version_status": status["model_version_status"]
    }
    metadata = httpx.get(f"{server.url}/v1/models/det/metadata").json()
    assert metadata["model_spec"] == {"name": "det", "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["image"]["dtype"] == "DT_STRING"
    assert signature["outputs"]["boxes"]["tensor_shape"]["dim"][-1]["size"] == "4"
    missing = httpx.get(f"{server.url}/v1/models/nope/metadata")
    assert missing.status_code == 404 and isinstance(missing.json()["error"], str)
    spec = httpx.get(f"{server.url}/openapi.json").json()
    require_module("openapi_spec_validator", DEV_INSTALL).validate(spec)
    paths = spec["paths"]
    infer = paths["/v2/models/{name}/infer"]["post"]
    assert "application/json" in infer["requestBody"]["content"]
    assert {"/v2", "/v2/models/{name}", "/v1/models/{name}/metadata"} <= set(paths)
    body = paths["/v1/models/{name}:predict"]["post"]["requestBody"]["content"]["application/json"]
    assert "instances" in json.dumps(body)  # the TF-Serving body is described
