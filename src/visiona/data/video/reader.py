"""A reader thread between a frame source and the network.

For a file every frame is handed over through a small bounded queue (the reader waits when the
network is slower, so memory stays flat). For a live source only the newest frame is kept: when
the network is slower than the camera, older frames are dropped and counted, so results never fall
behind real time.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from visiona.data.video.sources import Frame

_END = object()


class FrameReader:
    """Iterate frames decoded on a background thread.

    Args:
        frames: The source's frame generator (decodes as it is consumed).
        live: Keep only the newest frame (drop stale ones) instead of every frame.
        buffer: Frames decoded ahead for a file.

    Errors raised by the source are re-raised by the iterator after the frames before them.
    """

    def __init__(self, frames: Iterator[Frame], *, live: bool, buffer: int = 4) -> None:
        self.live = live
        self.dropped = 0
        self._frames = frames
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1 if live else buffer)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="visiona-video-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self._frames:
                if self._stop.is_set():
                    break
                self._put(frame)
        except BaseException as error:  # handed to the consumer, who raises it
            self._error = error
        finally:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
            self._put(_END, final=True)

    def _put(self, item: object, final: bool = False) -> None:
        if self.live and not final:
            try:  # replace the unread frame with this newer one
                self._queue.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set() and not final:
                    return
                if self._stop.is_set() or (self.live and not final):
                    # nobody reads any more, or a newer live frame wins
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop reading (the thread ends at its next frame)."""
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout=2.0)

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
