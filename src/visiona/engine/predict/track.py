"""Multi-object tracking over video frames with the ``trackers`` package (ByteTrack, SORT, OC-SORT).

The tracker gives each object a stable id across frames; :class:`ObjectTracker` feeds it one
result per frame (:class:`~visiona.results.detections.Detections` or
:class:`~visiona.results.faces.Faces`) and returns the same kind of result holding only the
tracked objects, with ``track_ids`` set. :class:`LineCounter` counts objects crossing a line per
class with supervision's ``LineZone``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

import numpy as np

from visiona.errors import MissingDependencyError, UsageError
from visiona.registry import unknown_name_error
from visiona.results.base import Result
from visiona.results.detections import Detections
from visiona.results.faces import Faces
from visiona.results.keypoints import Keypoints

TRACKERS = {"bytetrack": "ByteTrackTracker", "sort": "SORTTracker", "ocsort": "OCSORTTracker"}
TRAIL_LENGTH = 30


def _import(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise MissingDependencyError(
            f"tracking needs the {module!r} package", 'pip install "visiona[video]"'
        ) from None


def check_tracker(name: str) -> str:
    """``name`` lower-cased if it is a known tracker, else an UnknownNameError."""
    key = name.lower().replace("-", "").replace("_", "")
    if key not in TRACKERS:
        raise unknown_name_error("tracker", name, TRACKERS, f"trackers: {', '.join(TRACKERS)}")
    return key


class ObjectTracker:
    """Stable ids for the objects of consecutive frames (boxes; landmark sets by their extent).

    Args:
        name: ``bytetrack``, ``sort`` or ``ocsort``.
        fps: Frame rate of the video (sets how long a lost track is kept: one second).
        trail: Centre points kept per track for drawing trails.
    """

    def __init__(self, name: str = "bytetrack", fps: float = 30.0, trail: int = TRAIL_LENGTH):
        self.name = check_tracker(name)
        trackers = _import("trackers")
        self._sv = _import("supervision")
        factory = getattr(trackers, TRACKERS[self.name])
        self._tracker = factory(frame_rate=float(fps), lost_track_buffer=max(1, round(fps)))
        self.trails: dict[int, deque[tuple[float, float]]] = {}
        self._trail = trail
        self._last_seen: dict[int, int] = {}
        self._frame = 0
        self._fps = fps

    def update(self, result: Result) -> Result:
        """``result`` keeping the tracked objects, with ``track_ids`` (same result type).

        Raises:
            UsageError: The result type has no boxes to track (classification, matting...).
        """
        if not isinstance(result, Detections | Faces | Keypoints):
            raise UsageError(
                f"--track follows objects; {result.task} results have none",
                "track with detect, segment-instances, keypoints, faces, pose or hands",
            )
        n = len(result)
        class_ids = result.class_ids if isinstance(result, Detections) else np.zeros(n, np.int64)
        detections = self._sv.Detections(
            xyxy=boxes_of(result),
            confidence=result.scores.astype(np.float32),
            class_id=class_ids.astype(int),
            data={"index": np.arange(n)},
        )
        tracked = self._tracker.update(detections)
        ids = np.asarray(tracked.tracker_id if tracked.tracker_id is not None else [], np.int64)
        keep = ids >= 0
        index = np.asarray(tracked.data.get("index", np.arange(len(ids))), np.int64)[keep]
        ids = ids[keep]
        self._frame += 1
        out = _take(result, index, ids)
        for box, track in zip(boxes_of(out), ids.tolist(), strict=True):
            trail = self.trails.setdefault(track, deque(maxlen=self._trail))
            trail.append((float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2))
            self._last_seen[track] = self._frame
        stale = [t for t, seen in self._last_seen.items() if self._frame - seen > 2 * self._fps]
        for track in stale:
            self.trails.pop(track, None)
            self._last_seen.pop(track, None)
        return out


def boxes_of(result: Detections | Faces | Keypoints) -> np.ndarray:
    """``(N, 4)`` float32 xyxy boxes: the result's own, or around each instance's visible points."""
    if not isinstance(result, Keypoints):
        return result.xyxy.astype(np.float32).reshape(-1, 4)
    boxes = np.zeros((len(result), 4), np.float32)
    for i in range(len(result)):
        visible = result.visibility[i] >= 0.5
        xy = result.points[i, visible if visible.any() else slice(None), :2]
        boxes[i] = (*xy.min(axis=0), *xy.max(axis=0))
    return boxes


def _take(result: Detections | Faces | Keypoints, index: np.ndarray, ids: np.ndarray) -> Any:
    """The objects ``index`` of ``result`` with track ids ``ids``."""

    def pick(values: Any) -> Any:
        if values is None:
            return None
        if isinstance(values, tuple):
            return tuple(values[i] for i in index)
        return np.asarray(values)[index]

    if isinstance(result, Keypoints):
        return dataclasses.replace(
            result, points=result.points[index], visibility=result.visibility[index],
            scores=result.scores[index], labels=pick(result.labels), track_ids=ids,
        )  # fmt: skip
    fields = {"xyxy": result.xyxy[index], "scores": result.scores[index], "track_ids": ids}
    if isinstance(result, Detections):
        fields |= {"class_ids": result.class_ids[index], "masks": pick(result.masks),
                   "keypoints": pick(result.keypoints)}  # fmt: skip
    else:
        fields |= {"landmarks": result.landmarks[index], "identities": pick(result.identities),
                   "distances": pick(result.distances)}  # fmt: skip
    return dataclasses.replace(result, **fields)


def parse_line(text: str) -> tuple[float, float, float, float]:
    """``"x0,y0,x1,y1"`` (pixels) → a tuple; UsageError otherwise."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UsageError(f"--count-line {text!r}: give x0,y0,x1,y1 in pixels, e.g. 0,240,640,240")
    if values[:2] == values[2:]:
        raise UsageError(f"--count-line {text!r}: the two ends are the same point")
    return values  # type: ignore[return-value]


class LineCounter:
    """Counts tracked objects crossing a line, per class and direction (supervision LineZone).

    ``in`` is a crossing from the line's right side to its left, seen walking from its start
    to its end (supervision's convention).
    """

    def __init__(self, line: tuple[float, float, float, float]) -> None:
        sv = _import("supervision")
        self.line = line
        self._sv = sv
        self._zone = sv.LineZone(
            start=sv.Point(line[0], line[1]),
            end=sv.Point(line[2], line[3]),
            triggering_anchors=(sv.Position.CENTER,),
        )
        self.names: dict[int, str] = {}

    def update(self, result: Detections | Faces | Keypoints) -> None:
        if result.track_ids is None or not len(result):
            return
        class_ids = result.class_ids if isinstance(result, Detections) else np.zeros(len(result))
        if isinstance(result, Detections):
            self.names = dict(enumerate(result.names))
        elif isinstance(result, Keypoints):
            self.names = {0: {"pose": "person", "hands": "hand"}.get(result.kind, result.kind)}
        else:
            self.names = {0: "face"}
        self._zone.trigger(
            self._sv.Detections(
                xyxy=boxes_of(result),
                class_id=np.asarray(class_ids, int),
                tracker_id=result.track_ids.astype(int),
            )
        )

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """``{label: {"in": n, "out": m}}`` for every class that crossed."""
        counts: dict[str, dict[str, int]] = {}
        for key, per_class in (("in", self._zone.in_count_per_class),
                               ("out", self._zone.out_count_per_class)):  # fmt: skip
            for class_id, count in per_class.items():
                label = self.names.get(int(class_id), str(class_id))
                counts.setdefault(label, {"in": 0, "out": 0})[key] += int(count)
        return counts

    @property
    def totals(self) -> tuple[int, int]:
        return int(self._zone.in_count), int(self._zone.out_count)
