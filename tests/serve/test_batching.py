"""Micro-batching, the bounded queue (429), timeouts (504) and graceful SIGTERM, on real servers."""

from __future__ import annotations

import io
import re
import signal
import threading

import httpx
import pytest
from PIL import Image

from serve_support import start_server, wait_for

pytestmark = pytest.mark.slow


def _jpeg(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (224, 224), (seed * 37 % 256, 80, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    assert match, f"{name} not in metrics"
    return float(match.group(1))


def _post_in_threads(url: str, indices: range, out: dict[int, httpx.Response]):
    def send(i: int) -> None:
        out[i] = httpx.post(url, files={"image": (f"{i}.jpg", _jpeg(i))}, timeout=120)

    threads = [threading.Thread(target=send, args=(i,)) for i in indices]
    for thread in threads:
        thread.start()
    return threads


def _queue_depth(server) -> float:
    return _metric(httpx.get(f"{server.url}/metrics").text, "visiona_queue_depth")


def test_concurrent_requests_share_batches(tmp_path):
    # The first request's forward pass is held at the gate while 15 more queue up behind it;
    # once open, the worker takes them as batches of at most 8. No arrival window is assumed.
    server = start_server(
        "test_gated_classifier", "--random-init", "--max-batch", "8", "--max-wait-ms", "5",
        home=tmp_path,
    )  # fmt: skip
    try:
        url = f"{server.url}/v1/models/test_gated_classifier:predict"
        responses: dict[int, httpx.Response] = {}
        threads = _post_in_threads(url, range(1), responses)
        wait_for(lambda: server.gate.batches() == [1], "the first forward pass")
        threads += _post_in_threads(url, range(1, 16), responses)
        wait_for(lambda: _queue_depth(server) == 15, "15 queued requests")
        server.gate.open("forward")
        for thread in threads:
            thread.join()
        assert [responses[i].status_code for i in range(16)] == [200] * 16
        sources = [responses[i].json()["results"][0]["source"] for i in range(16)]
        assert sources == [f"{i}.jpg" for i in range(16)]  # each answer is its own image's
        assert server.gate.batches() == [1, 8, 7]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert _metric(metrics, "visiona_batch_size_sum") == 16
        assert _metric(metrics, "visiona_batch_size_count") == 3
    finally:
        server.gate.open("forward")
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
        "test_gated_classifier", "--random-init", "--max-batch", "1", "--max-queue", "2",
        home=tmp_path,
    )  # fmt: skip
    url = f"{server.url}/v1/models/test_gated_classifier:predict"
    responses: dict[int, httpx.Response] = {}
    threads: list[threading.Thread] = []
    try:
        # One request held in its forward pass, two filling the queue (max 2): the next is 429.
        threads += _post_in_threads(url, range(1), responses)
        wait_for(lambda: server.gate.batches() == [1], "the first forward pass")
        threads += _post_in_threads(url, range(1, 3), responses)
        wait_for(lambda: _queue_depth(server) == 2, "a full queue")
        busy = httpx.post(url, files={"image": ("busy.jpg", _jpeg())})
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]["message"]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert _metric(metrics, "visiona_rejects_total") == 1
        assert httpx.get(f"{server.url}/v2/health/live").status_code == 200

        # SIGTERM while three requests are in flight: the server stops listening, finishes
        # them once the gate opens, then exits 0.
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: not _answers(server.url), "the server to stop accepting connections")
        assert server.process.poll() is None  # still finishing the in-flight requests
    finally:
        server.gate.open("forward")
        code = server.stop()
    for thread in threads:
        thread.join()
    assert code == 0
    assert [responses[i].status_code for i in range(3)] == [200, 200, 200]
    assert server.gate.batches() == [1, 1, 1]


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/v2/health/live", timeout=2)
    except httpx.TransportError:
        return False
    return True
