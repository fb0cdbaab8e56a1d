"""Small videos and a local MJPEG-over-HTTP server for the video tests."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image


def moving_square(index: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Frame ``index`` of a white square sliding right on a dark background, ``(H, W, 3)``."""
    frame = np.full((height, width, 3), 30, np.uint8)
    x = (index * 2) % (width - 12)
    frame[16:28, x : x + 12] = 255
    return frame


def write_video(
    path: Path, frames: int = 20, fps: float = 20.0, size: tuple[int, int] = (64, 48)
) -> Path:
    """A small H.264 (or VP9 for .webm) video written with PyAV."""
    from visiona.data.video.writer import VideoWriter

    writer = VideoWriter(path, fps)
    for index in range(frames):
        writer.write(moving_square(index, *size))
    writer.close()
    return path


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


class MjpegServer:
    """``multipart/x-mixed-replace`` JPEG frames on 127.0.0.1, like an IP camera.

    Args:
        frames: How many frames the first connection sends before it stalls or closes.
        later_frames: Frames sent by later connections (default: ``frames``).
        stall: After ``frames``, keep the connection open without sending (a stalled camera).
        fps: Frames per second sent.
    """

    def __init__(
        self,
        frames: int = 30,
        stall: bool = False,
        fps: float = 30.0,
        later_frames: int | None = None,
    ) -> None:
        self.connections = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.connections += 1
                count = frames if server.connections == 1 or later_frames is None else later_frames
                if self.path.endswith(".html"):
                    body = b"<html><body>not a video</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for index in range(count):
                        data = jpeg(moving_square(index))
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(data)}\r\n\r\n".encode())
                        self.wfile.write(data + b"\r\n")
                        self.wfile.flush()
                        time.sleep(1 / fps)
                    if stall:
                        time.sleep(30)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/stream.mjpg"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def frames_of(items: Iterator[object]) -> list[object]:
    return list(items)
