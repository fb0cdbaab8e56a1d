"""Test-wide guards: no network but loopback, an isolated weights cache, sample images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from net_guard import sitecustomize as net_guard
from tests_support import OFFLINE_ENV, REMOVED_ENV, requirement_setup, subprocess_env

# The guard is process-wide from here on, before any fixture (module- and session-scoped ones
# included) runs; every subprocess gets it too through tests_support.subprocess_env(). As a
# second line, the session's own environment carries the guard and the offline flag, so even a
# child started some other way (multiprocessing's spawn, a library's helper process) has them.
net_guard.install()
os.environ.update(subprocess_env())
for _name in REMOVED_ENV:
    os.environ.pop(_name, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires(modules=(), packaged=()): needs these modules / packaged model files; "
        "skips when missing, fails when CI is set",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    requirement_setup(item)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Give every test an empty visiona cache and the offline environment (the socket guard is
    installed process-wide above)."""
    monkeypatch.setenv("VISIONA_HOME", str(tmp_path_factory.mktemp("visiona_home")))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
    for name, value in OFFLINE_ENV.items():
        monkeypatch.setenv(name, value)
    for name in REMOVED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    """skimage's chelsea (cat) and coffee photos saved as JPEG files."""
    from skimage import data

    folder = tmp_path / "photos"
    folder.mkdir()
    paths = {}
    for name in ("chelsea", "coffee"):
        path = folder / f"{name}.jpg"
        Image.fromarray(getattr(data, name)()).save(path, quality=95)
        paths[name] = path
    return paths


@pytest.fixture
def small_images(tmp_path: Path) -> list[Path]:
    """Three small random RGB PNGs in a folder."""
    folder = tmp_path / "small"
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for index in range(3):
        path = folder / f"img{index}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class _Route:
    def __init__(self, body: bytes, status: int = 200, declared_length: int | None = None) -> None:
        self.body, self.status, self.declared_length = body, status, declared_length


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving files the test registers."""

    def __init__(self) -> None:
        import http.server
        import threading

        routes: dict[str, _Route] = {}
        self.routes = routes
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(route.status)
                length = route.declared_length or len(route.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(route.body)
                self.wfile.flush()
                if route.declared_length:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(
        self, path: str, body: bytes, status: int = 200, declared_length: int | None = None
    ) -> str:
        self.routes[path] = _Route(body, status, declared_length)
        return self.url + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def http_server():
    server = LoopbackServer()
    yield server
    server.close()


class NetworkLog:
    """Every name lookup and connection attempt made in this process while a test runs."""

    def __init__(self) -> None:
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import socket

        guarded_lookup = socket.getaddrinfo
        guarded_connect = socket.socket.connect
        guarded_connect_ex = socket.socket.connect_ex

        def getaddrinfo(host, *args, **kwargs):
            self.lookups.append(host.decode() if isinstance(host, bytes) else str(host))
            return guarded_lookup(host, *args, **kwargs)

        def connect(sock, address):
            self.connects.append(tuple(address[:2]))
            return guarded_connect(sock, address)

        def connect_ex(sock, address):
            self.connects.append(tuple(address[:2]))
            return guarded_connect_ex(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def network_log(monkeypatch: pytest.MonkeyPatch) -> NetworkLog:
    """Count lookups and connects (behind the guard): fail-fast is checked by what happens."""
    log = NetworkLog()
    log.install(monkeypatch)
    return log


@pytest.fixture
def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
