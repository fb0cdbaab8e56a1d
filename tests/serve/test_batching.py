"""Micro-batching, the bounded queue (429), timeouts (504) and graceful SIGTERM, on real servers."""

from __future__ import annotations

import io
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from serve_support import start_server

pytestmark = pytest.mark.slow


def _jpeg(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (224, 224), (seed * 37 % 256, 80, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    assert match, f"{name} not in metrics"
    return float(match.group(1))


def _burst(url: str, count: int, workers: int) -> list[httpx.Response]:
    def send(i: int) -> httpx.Response:
        return httpx.post(url, files={"image": (f"{i}.jpg", _jpeg(i))}, timeout=120)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, range(count)))


def test_concurrent_requests_share_batches(tmp_path):
    server = start_server(
        "test_classifier", "--random-init", "--max-batch", "8", "--max-wait-ms", "200",
        home=tmp_path,
    )  # fmt: skip
    try:
        url = f"{server.url}/v1/models/test_classifier:predict"
        responses = _burst(url, 16, 16)
        assert [r.status_code for r in responses] == [200] * 16
        sources = [r.json()["results"][0]["source"] for r in responses]
        assert sources == [f"{i}.jpg" for i in range(16)]  # each answer is its own image's
        metrics = httpx.get(f"{server.url}/metrics").text
        images = _metric(metrics, "visiona_batch_size_sum")
        batches = _metric(metrics, "visiona_batch_size_count")
        assert images == 16 and batches < 16  # some requests were batched together
    finally:
        assert server.stop() == 0


def test_request_waiting_too_long_gets_504_and_server_recovers(tmp_path):
    # The batch window (800 ms) is longer than the request timeout (0.2 s).
    server = start_server(
        "test_classifier", "--random-init", "--max-batch", "64", "--max-wait-ms", "800",
        "--timeout", "0.2", home=tmp_path,
    )  # fmt: skip
    try:
        url = f"{server.url}/v1/models/test_classifier:predict"
        response = httpx.post(url, files={"image": ("a.jpg", _jpeg())})
        assert response.status_code == 504 and "0.2 s" in response.json()["error"]["message"]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'visiona_rejects_total{model="test_classifier",reason="timeout"} 1.0' in metrics
        assert httpx.get(f"{server.url}/v2/health/live").status_code == 200
    finally:
        assert server.stop() == 0


def test_full_queue_answers_429_then_sigterm_finishes_in_flight(tmp_path):
    server = start_server(
        "efficientnet_lite0", "--max-batch", "1", "--max-queue", "2", home=tmp_path
    )
    url = f"{server.url}/v1/models/efficientnet_lite0:predict"
    try:
        responses = _burst(url, 24, 24)
        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 429} and 429 in codes and 200 in codes, codes
        busy = next(r for r in responses if r.status_code == 429)
        assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]["message"]
        metrics = httpx.get(f"{server.url}/metrics").text
        rejected = _metric(metrics, "visiona_rejects_total")
        assert rejected == codes.count(429)
        assert httpx.get(f"{server.url}/v2/health/live").status_code == 200

        # SIGTERM while requests are in flight: they complete, then the process exits 0.
        results: list[int] = []

        def send(i: int) -> None:
            response = httpx.post(url, files={"image": (f"{i}.jpg", _jpeg(i))}, timeout=60)
            results.append(response.status_code)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
    finally:
        code = server.stop()
    for thread in threads:
        thread.join()
    assert code == 0
    assert results == [200, 200]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/v2/health/live", timeout=2)
