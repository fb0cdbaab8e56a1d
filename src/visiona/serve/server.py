"""Run the app under uvicorn with a graceful SIGTERM/SIGINT that exits 0.

On the signal uvicorn stops accepting connections, lets in-flight requests finish (up to
``graceful_s``), runs the app's shutdown (which drains the batch queues) and returns. Stock
uvicorn then re-raises the signal, so the process would die "killed by SIGTERM"; a planned stop is
not a failure, so here the process exits 0.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["run"]


class _GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(app: Any, host: str, port: int, graceful_s: float = 30.0) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then shut down gracefully."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=int(graceful_s)
    )
    _GracefulServer(config).run()
