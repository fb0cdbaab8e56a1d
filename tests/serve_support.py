"""Start ``visiona serve`` as a real process on 127.0.0.1 and stop it with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

TOKEN = "test-token-1234"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
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


def start_server(*args: str, home: Path, ready_timeout: float = 120.0) -> Server:
    """Run ``visiona serve ARGS`` on a free port; return once ``/v2/health/ready`` says 200."""
    port = free_port()
    env = {**os.environ, "VISIONA_HOME": str(home)}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
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
                return Server(url, process)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise RuntimeError(f"server not ready after {ready_timeout} s: {log.read_text()[-2000:]}")
