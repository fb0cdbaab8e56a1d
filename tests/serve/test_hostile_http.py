"""Hostile HTTP: deep JSON, bad model sources, token order, methods, OpenAPI, error schema."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from serve_support import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(
        "test_classifier", "--random-init", "--max-body-mb", "1",
        home=tmp_path_factory.mktemp("hostile_home"),
    )  # fmt: skip
    yield srv
    assert srv.stop() == 0


def _auth(server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def _error(response: httpx.Response, status: int) -> str:
    """Asserts the status and the JSON error schema; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    return body["error"]["message"]


def test_deeply_nested_json_is_400_json_for_anyone(server) -> None:
    deep = "[" * 1100 + "]" * 1100
    json_type = {"content-type": "application/json"}
    url = f"{server.url}/v1/models/test_classifier:predict"
    for body in (deep, '{"images": ' + deep + "}", '{"images": [], "options": ' + deep + "}"):
        message = _error(httpx.post(url, content=body, headers=json_type), 400)
        assert "nested deeper than" in message
    # Brackets inside strings do not count.
    strings = '{"images": ["' + "[" * 2000 + '"]}'
    assert "base64" in _error(httpx.post(url, content=strings, headers=json_type), 400)
    load = httpx.post(
        f"{server.url}/v1/models", content=deep, headers={**json_type, **_auth(server)}
    )
    assert "nested deeper than" in _error(load, 400)
    assert httpx.get(f"{server.url}/v2/health/live").status_code == 200


@pytest.mark.parametrize("source", ["", " ", ".", "..", "/", "a\x00b", "x" * 5000])
def test_bad_sources_are_400_not_500(server, source: str) -> None:
    body = {"name": "bad", "source": source, "pretrained": False}
    message = _error(httpx.post(f"{server.url}/v1/models", json=body, headers=_auth(server)), 400)
    assert "model source" in message


def test_token_is_checked_before_the_body(server) -> None:
    url = f"{server.url}/v1/models"
    for content in ("{bad json", '{"name": 3}', "[" * 1100):
        response = httpx.post(url, content=content, headers={"content-type": "application/json"})
        _error(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    bad = httpx.post(url, content='{"name": 3}', headers={"content-type": "application/json",
                                                           **_auth(server)})  # fmt: skip
    assert "name" in _error(bad, 422)


def test_file_names_keep_their_suffix_and_hints_appear_once(server) -> None:
    body = {"name": "evil", "source": "evil.pth", "pretrained": False}
    response = httpx.post(f"{server.url}/v1/models", json=body, headers=_auth(server), timeout=120)
    message = _error(response, 400)
    assert "'evil.pth'" in message and "\n" not in message
    unknown = httpx.post(
        f"{server.url}/v1/models", json={"name": "x", "source": "resnet19"},
        headers=_auth(server), timeout=120,
    )  # fmt: skip
    message = _error(unknown, 400)
    assert message.count("visiona weights list 'PATTERN'") == 1 and "\n" not in message


def test_methods_options_and_405(server) -> None:
    predict = f"{server.url}/v1/models/test_classifier:predict"
    for method in ("GET", "PUT", "DELETE"):
        response = httpx.request(method, predict, headers=_auth(server))
        assert "not allowed" in _error(response, 405)
        assert response.headers["allow"] == "OPTIONS, POST"
    options = httpx.options(predict)
    assert options.status_code == 204 and options.headers["allow"] == "OPTIONS, POST"
    models = httpx.options(f"{server.url}/v1/models")
    assert models.status_code == 204 and models.headers["allow"] == "GET, OPTIONS, POST"
    one = httpx.options(f"{server.url}/v1/models/test_classifier")
    assert set(one.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    _error(httpx.request("PATCH", f"{server.url}/v1/models"), 405)
    _error(httpx.get(f"{server.url}/no/such/path"), 404)


def test_openapi_describes_predict_bodies_and_errors(server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    predict = spec["paths"]["/v1/models/{name}:predict"]["post"]
    content = predict["requestBody"]["content"]
    assert {
        "multipart/form-data",
        "application/json",
        "image/*",
        "application/octet-stream",
    } <= set(content)
    json_schema = content["application/json"]["schema"]  # visiona's, or TF-Serving's (anyOf)
    variants = json_schema.get("anyOf", [json_schema])
    assert any("images" in variant.get("properties", {}) for variant in variants)
    for code in ("400", "404", "413", "415", "422", "429", "500", "504"):
        assert code in predict["responses"], code
        schema = predict["responses"][code]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorResponse")
    load = spec["paths"]["/v1/models"]["post"]
    assert "401" in load["responses"]
    assert "source" in str(load["requestBody"]["content"]["application/json"]["schema"])


def test_predict_still_works_after_the_hostile_requests(server) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, format="PNG")
    response = httpx.post(
        f"{server.url}/v1/models/test_classifier:predict",
        content=buffer.getvalue(), headers={"content-type": "image/png"},
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["results"][0]["task"] == "classify"


def test_an_unexpected_error_is_a_json_500() -> None:
    from fastapi.testclient import TestClient

    from visiona.serve.app import ServeConfig, create_app

    app = create_app(ServeConfig())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    message = _error(response, 500)
    assert "secret internals" not in message and "RuntimeError" in message


def test_odd_json_values_are_4xx_not_500(server) -> None:
    import base64

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format="PNG")
    b64 = base64.b64encode(buffer.getvalue()).decode()
    url = f"{server.url}/v1/models/test_classifier:predict"
    odd_names = [5, ["a"], {"x": 1}, None, True, 1.5]
    for name in odd_names:  # found by bench/fuzz_openapi.py: a non-string name was a 500
        response = httpx.post(url, json={"images": [{"name": name, "b64": b64}]}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["source"] == "image0"
    for body in ({"images": [{"b64": 5}]}, {"images": [[b64]]}, {"images": [b64], "options": [1]},
                 {"images": [b64], "options": {"top_k": [1]}}, {"images": "x"}, [b64]):  # fmt: skip
        response = httpx.post(url, json=body, timeout=60)
        assert 400 <= response.status_code < 500, (body, response.text)
        _error(response, response.status_code)
