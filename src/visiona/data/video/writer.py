"""Writing annotated video that browsers play: H.264 in MP4 (or VP9 in WebM) through PyAV.

The encoder runs on its own thread behind a small bounded queue. The file is written under a
temporary name next to the target and renamed when :meth:`VideoWriter.close` has flushed the
encoder, so an interrupted run (Ctrl-C) still closes a playable file and never leaves half a file
under the final name.
"""

from __future__ import annotations

import os
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from visiona.data.video.sources import VideoError, _import_av
from visiona.errors import UsageError

# suffix → (container format, codec, pixel format, codec options)
_FORMATS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    ".mp4": ("mp4", "libx264", "yuv420p", {"preset": "veryfast", "crf": "23"}),
    ".m4v": ("mp4", "libx264", "yuv420p", {"preset": "veryfast", "crf": "23"}),
    ".mov": ("mov", "libx264", "yuv420p", {"preset": "veryfast", "crf": "23"}),
    ".mkv": ("matroska", "libx264", "yuv420p", {"preset": "veryfast", "crf": "23"}),
    ".webm": ("webm", "libvpx-vp9", "yuv420p", {"deadline": "realtime", "cpu-used": "8",
                                                "crf": "32", "b": "0"}),
}  # fmt: skip
VIDEO_OUTPUT_SUFFIXES = tuple(_FORMATS)
_STOP = object()


class VideoWriter:
    """Encode RGB frames to ``path`` at ``fps``.

    Args:
        path: ``.mp4``/``.m4v``/``.mov``/``.mkv`` (H.264) or ``.webm`` (VP9).
        fps: Frames per second of the output (the source's).
        buffer: Frames queued for the encoder thread before :meth:`write` waits.

    The first frame fixes the size; a later frame of another size is resized to it. Odd sizes are
    padded by one pixel (4:2:0 video needs even sizes).
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, buffer: int = 8) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FORMATS:
            raise UsageError(f"cannot write video '{path}': use one of "
                             f"{', '.join(VIDEO_OUTPUT_SUFFIXES)}")  # fmt: skip
        if not self.path.parent.is_dir():
            raise UsageError(f"cannot write '{path}': folder '{self.path.parent}' does not exist")
        self._format = _FORMATS[suffix]
        self.fps = Fraction(fps if fps and fps > 0 else 30.0).limit_denominator(1001)
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self.resized = 0
        self._temp = self.path.with_name(f".{self.path.stem}.partial{suffix}")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=buffer)
        self._error: BaseException | None = None
        self._container: Any = None
        self._stream: Any = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="visiona-video-writer", daemon=True)
        self._thread.start()

    def write(self, array: np.ndarray) -> None:
        """Queue one ``(H, W, 3)`` uint8 RGB frame (waits when the encoder is behind)."""
        if self._error is not None:
            raise VideoError(f"{self.path}: video encoding failed: {self._error}")
        self._queue.put(array)

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if self._error is None:
                    self._encode(item)  # type: ignore[arg-type]
            self._finish()
        except BaseException as error:  # reported by write()/close()
            self._error = error
            while self._queue.get() is not _STOP:  # let producers finish
                pass

    def _encode(self, array: np.ndarray) -> None:
        av = _import_av()
        if self._container is None:
            height, width = array.shape[:2]
            self.size = (width, height)
            fmt, codec, pix_fmt, options = self._format
            container_options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
            self._container = av.open(str(self._temp), "w", format=fmt, options=container_options)
            stream = self._container.add_stream(codec, rate=self.fps, options=options)
            stream.width, stream.height = width + width % 2, height + height % 2
            stream.pix_fmt = pix_fmt
            stream.time_base = 1 / self.fps
            self._stream = stream
        array = self._fit(array)
        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
        frame.pts = self.frames
        frame.time_base = 1 / self.fps
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def _fit(self, array: np.ndarray) -> np.ndarray:
        assert self.size is not None
        width, height = self.size
        if array.shape[:2] != (height, width):
            import cv2

            self.resized += 1
            array = cv2.resize(np.ascontiguousarray(array), (width, height))
        if width % 2 or height % 2:
            array = np.pad(array, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        return np.ascontiguousarray(array)

    def _finish(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():  # flush delayed frames
            self._container.mux(packet)
        self._container.close()
        with open(self._temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self._temp, self.path)

    def close(self) -> Path | None:
        """Flush, close and move the file into place; the path, or ``None`` if no frame came."""
        if self._closed:
            return self.path if self.frames else None
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            self._temp.unlink(missing_ok=True)
            raise VideoError(f"{self.path}: video encoding failed: {self._error}")
        return self.path if self.frames else None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
