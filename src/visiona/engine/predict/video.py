"""Predicting on video: frames from a reader thread through the one Predictor, optionally tracked.

:class:`VideoStream` is an iterator of :class:`FramePrediction` (frame index, timestamp, typed
result, latency) over any source :func:`~visiona.data.video.sources.parse_source` accepts. It is
what ``visiona.predict(task, "clip.mp4", stream=True)``, ``visiona predict TASK clip.mp4`` and
the benchmark run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.data.video.reader import FrameReader
from visiona.data.video.sources import (
    Frame,
    Selection,
    SourceSpec,
    open_frames,
    parse_source,
    probe_fps,
)
from visiona.engine.predict.track import LineCounter, ObjectTracker, parse_line
from visiona.errors import UsageError
from visiona.io.images import LoadedImage

if TYPE_CHECKING:
    from visiona.engine.predict.predictor import Predictor
    from visiona.results.base import Result

STAGES = ("decode", "preprocess", "model", "postprocess", "track", "draw", "encode")


@dataclass
class FramePrediction:
    """One frame's outcome.

    Attributes:
        index: Frame number in the source (0-based; skipped frames count).
        timestamp: Seconds from the start of the source.
        source: The source's display name.
        result: The typed result (tracked: only tracked objects, with ``track_ids``).
        image: The frame, ``(H, W, 3)`` uint8 RGB.
        latency_ms: From the frame leaving the decoder to its result being ready.
        counts: Line-crossing counts so far, ``{label: {"in": n, "out": m}}`` (``--count-line``).
    """

    index: int
    timestamp: float
    source: str
    result: Result
    image: np.ndarray
    latency_ms: float
    counts: dict[str, dict[str, int]] | None = None
    fps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result's JSON with ``frame``, ``timestamp`` and ``latency_ms`` first."""
        data: dict[str, Any] = {
            "frame": self.index,
            "timestamp": round(self.timestamp, 6),
            "latency_ms": round(self.latency_ms, 3),
        }
        data.update(self.result.to_dict())
        if self.counts is not None:
            data["counts"] = self.counts
        return data


@dataclass
class StreamStats:
    """Totals over a run: frames processed, decoded and dropped, seconds per stage.

    ``ms_per_frame`` divides each stage by the frames processed, except ``decode``, divided by
    the frames decoded (a live source decodes frames it then drops for newer ones).
    """

    frames: int = 0
    dropped: int = 0
    decoded: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def wall(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def fps(self) -> float:
        return self.frames / self.wall if self.wall > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        per_frame = (
            {k: 1000 * v / self.frames for k, v in self.seconds.items()} if self.frames else {}
        )
        if self.decoded:  # a live source decodes frames that are then dropped: per decoded frame
            per_frame["decode"] = 1000 * self.seconds["decode"] / self.decoded
        return {
            "frames": self.frames,
            "dropped": self.dropped,
            "seconds": round(self.wall, 3),
            "fps": round(self.fps, 2),
            "ms_per_frame": {k: round(v, 3) for k, v in per_frame.items()},
        }


class VideoStream:
    """Run ``predictor`` on every selected frame of ``source``.

    Args:
        predictor: Any :class:`~visiona.engine.predict.predictor.Predictor`.
        source: A source string (``clip.mp4``, ``0``, ``rtsp://…``, ``frames/%04d.png``) or a
            parsed :class:`SourceSpec`.
        selection: ``every`` / ``start`` / ``end`` / ``max_frames``.
        track: ``bytetrack``, ``sort`` or ``ocsort`` to give objects stable ids.
        count_line: ``"x0,y0,x1,y1"``: count tracked objects crossing it (needs ``track``).
        reconnects: How many times a dropped live stream is reopened before giving up.
        timeout: Seconds to wait when opening or reading a stream.
        **options: Task options (``conf``, ``top_k``...).
    """

    def __init__(
        self,
        predictor: Predictor,
        source: str | SourceSpec,
        *,
        selection: Selection | None = None,
        track: str | None = None,
        count_line: str | tuple[float, float, float, float] | None = None,
        reconnects: int = 5,
        timeout: float = 10.0,
        images_as_video: bool = True,
        fps: float | None = None,
        **options: Any,
    ) -> None:
        spec = source if isinstance(source, SourceSpec) else parse_source(
            source, images_as_video=images_as_video, fps=fps
        )  # fmt: skip
        if spec is None:
            raise UsageError(f"{source!r} is not a video source")
        if count_line is not None and track is None:
            raise UsageError("--count-line counts tracked objects: add --track bytetrack")
        self.spec = spec
        self.predictor = predictor
        self.options = options
        self.stats = StreamStats()
        self._selection = selection or Selection()
        self._frames = open_frames(spec, self._selection, reconnects=reconnects, timeout=timeout)
        self._reader: FrameReader | None = None
        self._tracker_name = track
        self.tracker: ObjectTracker | None = None
        line = parse_line(count_line) if isinstance(count_line, str) else count_line
        self.counter = LineCounter(line) if line is not None else None
        if track is not None:
            from visiona.engine.predict.track import check_tracker

            check_tracker(track)

    @property
    def fps(self) -> float:
        """The source's frame rate (known once the first frame is read)."""
        return probe_fps(self.spec) / self._selection.every

    def _timed(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        while True:
            started = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                return
            self.stats.seconds["decode"] += time.perf_counter() - started
            self.stats.decoded += 1
            yield frame

    def __iter__(self) -> Iterator[FramePrediction]:
        self._reader = FrameReader(self._timed(self._frames), live=self.spec.live)
        smoothed: float | None = None
        last = None
        try:
            for frame in self._reader:
                if self.tracker is None and self._tracker_name is not None:
                    self.tracker = ObjectTracker(self._tracker_name, fps=self.fps)
                prediction = self._predict(frame)
                now = time.perf_counter()
                if last is not None and now > last:
                    rate = 1.0 / (now - last)
                    smoothed = rate if smoothed is None else 0.9 * smoothed + 0.1 * rate
                last = now
                prediction.fps = smoothed
                self.stats.frames += 1
                self.stats.dropped = self._reader.dropped
                yield prediction
        finally:
            self.stats.finished = time.perf_counter()
            self.close()

    def _predict(self, frame: Frame) -> FramePrediction:
        started = time.perf_counter()
        height, width = frame.array.shape[:2]
        image = LoadedImage(array=frame.array, source=frame.source, original_size=(width, height))
        [item] = self.predictor.run_decoded([image], self.stats.seconds, **self.options)
        result = item.result
        counts = None
        if self.tracker is not None:
            tracked = time.perf_counter()
            result = self.tracker.update(result)
            if self.counter is not None:
                self.counter.update(result)  # type: ignore[arg-type]
                counts = self.counter.counts
            self.stats.seconds["track"] += time.perf_counter() - tracked
        latency = 1000 * (time.perf_counter() - started)
        return FramePrediction(
            frame.index, frame.timestamp, frame.source, result, frame.array, latency, counts
        )

    def close(self) -> None:
        """Stop the reader thread (safe to call twice)."""
        if self._reader is not None:
            self._reader.close()
            self.stats.dropped = self._reader.dropped


def stream_results(predictor: Predictor, inputs: Any, **options: Any) -> Iterator[Any]:
    """``visiona.predict(..., stream=True)``: frame predictions for a video source, else results.

    Video keywords (``every``, ``start``, ``end``, ``max_frames``, ``track``, ``count_line``,
    ``fps``) are taken out of ``options``; the rest go to the task.
    """
    video_keys = ("every", "start", "end", "max_frames")
    selection = Selection(**{k: options.pop(k) for k in video_keys if k in options})
    extra = {k: options.pop(k) for k in ("track", "count_line", "fps") if k in options}
    spec = parse_source(inputs) if isinstance(inputs, str) else None
    if spec is not None:
        yield from VideoStream(predictor, spec, selection=selection, **extra, **options)
        return
    for item in predictor.stream(inputs, **options):
        if item.error is not None:
            raise item.error
        yield item.result
