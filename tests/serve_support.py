"""Start ``visiona serve`` as a real process on 127.0.0.1 and stop it with SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests_support import subprocess_env
from visiona.models.tiny import GATE_ENV

TOKEN = "test-token-1234"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gate:
    """The folder ``test_gated_classifier`` watches (``visiona.models.tiny``): its load waits for
    the file ``load``, each forward pass for ``forward``; each writes what it is doing first."""

    folder: Path

    def open(self, name: str) -> None:
        (self.folder / name).touch()

    def close(self, name: str) -> None:
        """Make the next load/forward wait at ``name`` again."""
        for path in (self.folder / name, self.folder / f"{name}.waiting"):
            path.unlink(missing_ok=True)

    def waiting(self, name: str) -> bool:
        """True once a load/forward has started waiting at ``name``."""
        return (self.folder / f"{name}.waiting").exists()

    def batches(self) -> list[int]:
        """Sizes of the forward passes entered so far, in order."""
        log = self.folder / "forward.log"
        return [int(line) for line in log.read_text().split()] if log.exists() else []


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    gate: Gate
    token: str = TOKEN

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait, and return the exit code (killed after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    *args: str,
    home: Path,
    ready_timeout: float = 120.0,
    env: dict[str, str] | None = None,
) -> Server:
    """Run ``visiona serve ARGS`` on a free port; return once ``/v2/health/ready`` says 200.

    ``test_gated_classifier`` in this server waits on files in ``Server.gate`` (see
    :class:`Gate`): its load gate starts open, its forward gate closed.
    """
    port = free_port()
    home = Path(home)
    gate = home / f"gate-{port}"
    gate.mkdir(parents=True, exist_ok=True)
    Gate(gate).open("load")
    # Offline and network-guarded like every test process, with its own caches (a module-scoped
    # server starts before the per-test environment exists), and a gate for test_gated_classifier.
    env = subprocess_env({
        "VISIONA_HOME": str(home), "TORCH_HOME": str(home / "torch"), "HF_HOME": str(home / "hf"),
        GATE_ENV: str(gate), **(env or {}),
    })  # fmt: skip
    # The server's output goes to a file, not a pipe: an unread pipe fills up and blocks the
    # server, and a pipe left open at exit is an unclosed-file warning in a later test.
    log = Path(home) / f"server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "visiona", "serve", *args, "--port", str(port), "--token", TOKEN],
            stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return Server(url, process, Gate(gate))
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise RuntimeError(f"server not ready after {ready_timeout} s: {log.read_text()[-2000:]}")


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Poll ``condition()`` until true (an event the test waits for, not a time it measures)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
