"""Tracking metrics (MOTA, IDF1, ID switches...) with ``motmetrics`` on a MOTChallenge-style set.

The set is what ``visiona data make tracks`` writes: ``video.mp4``, ``gt/gt.txt`` and optionally
``det/det.txt``. Hypotheses come from a tracker fed either the set's ground-truth detections
(tracker quality alone) or a detector run on the video (the whole pipeline).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import InputNotFoundError, MissingDependencyError, UsageError

if TYPE_CHECKING:
    from visiona.engine.predict.predictor import Predictor

METRICS = ("mota", "idf1", "num_switches", "precision", "recall", "mostly_tracked",
           "mostly_lost", "num_false_positives", "num_misses", "num_frames")  # fmt: skip
MIN_VISIBILITY = 0.2
"""Ground-truth boxes less visible than this (behind the occluder) are not counted."""


@dataclass(frozen=True)
class MotRow:
    frame: int
    track: int
    box: tuple[float, float, float, float]  # x, y, w, h
    score: float
    class_id: int
    visibility: float


def read_mot(path: Path) -> dict[int, list[MotRow]]:
    """Rows of a MOTChallenge text file by 1-based frame."""
    if not path.is_file():
        raise InputNotFoundError(
            f"not found: '{path}'", "make a set with: visiona data make tracks DIR"
        )
    rows: dict[int, list[MotRow]] = defaultdict(list)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        values = line.split(",")
        try:
            numbers = [float(v) for v in values[:9]]
        except ValueError:
            raise UsageError(f"{path}:{number}: not a MOTChallenge row: {line[:60]!r}") from None
        while len(numbers) < 9:
            numbers.append(1.0 if len(numbers) == 8 else -1.0)
        frame, track, x, y, w, h, score, cls, vis = numbers
        rows[int(frame)].append(MotRow(int(frame), int(track), (x, y, w, h), score, int(cls), vis))
    return rows


def _iou_distances(objects: np.ndarray, hypotheses: np.ndarray, max_distance: float = 0.5) -> Any:
    """motmetrics' IoU distance (``1 - IoU``, NaN past ``max_distance``) on ``(N, 4)`` xywh.

    Same as ``motmetrics.distances.iou_matrix``, which calls ``np.asfarray`` (gone in NumPy 2).
    """
    import motmetrics as mm

    if objects.size == 0 or hypotheses.size == 0:
        return np.empty((len(objects), len(hypotheses)))
    iou = mm.distances.boxiou(objects[:, None].astype(float), hypotheses[None, :].astype(float))
    distance = 1 - iou
    return np.where(distance > max_distance, np.nan, distance)


def _detections_from_mot(
    rows: dict[int, list[MotRow]], frames: int, names: tuple[str, ...]
) -> Iterator[Any]:
    from visiona.results.detections import Detections

    for frame in range(1, frames + 1):
        found = rows.get(frame, [])
        yield Detections(
            xyxy=[(r.box[0], r.box[1], r.box[0] + r.box[2], r.box[1] + r.box[3]) for r in found],
            scores=[r.score for r in found],
            class_ids=[max(0, r.class_id - 1) for r in found],
            names=names,
        )


def _frame_count(data: Path, gt: dict[int, list[MotRow]]) -> int:
    info = data / "seqinfo.ini"
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("seqLength="):
                return int(line.split("=", 1)[1])
    return max(gt) if gt else 0


def evaluate_tracking(
    data: str | Path,
    tracker: str = "bytetrack",
    *,
    predictor: Predictor | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """MOTA, IDF1, ID switches... of ``tracker`` on the set in ``data``.

    Args:
        data: A folder with ``gt/gt.txt`` (and ``det/det.txt`` or ``video.mp4``).
        tracker: ``bytetrack``, ``sort`` or ``ocsort``.
        predictor: A detector to run on ``video.mp4``; ``None``: the set's ground-truth
            detections (``det/det.txt``).
        options: Detector options (``conf``...).

    Returns:
        ``{"tracker", "detections", "frames", metric: value...}``.
    """
    try:
        import motmetrics as mm
    except ImportError:
        raise MissingDependencyError("tracking metrics need motmetrics",
                                     'pip install "visiona[video]"') from None  # fmt: skip
    from visiona.engine.predict.track import ObjectTracker

    folder = Path(data)
    gt = read_mot(folder / "gt" / "gt.txt")
    frames = _frame_count(folder, gt)
    names_file = folder / "classes.txt"
    names = tuple(names_file.read_text().split()) if names_file.is_file() else ("object",)
    fps = 30.0
    if predictor is None:
        source: Iterable[Any] = _detections_from_mot(
            read_mot(folder / "det" / "det.txt"), frames, names
        )
        what = "ground truth"
    else:
        from visiona.engine.predict.video import VideoStream

        video = folder / "video.mp4"
        if not video.is_file():
            raise InputNotFoundError(f"not found: '{video}'", "the set needs its video.mp4")
        source = (p.result for p in VideoStream(predictor, str(video), **(options or {})))
        what = predictor.model.weights.model
    follow = ObjectTracker(tracker, fps=fps)
    accumulator = mm.MOTAccumulator(auto_id=True)
    for frame, result in enumerate(source, 1):
        tracked = follow.update(result)
        truth = [r for r in gt.get(frame, []) if r.visibility >= MIN_VISIBILITY]
        hyp = np.asarray(tracked.xyxy, float).reshape(-1, 4)
        hyp_xywh = np.concatenate([hyp[:, :2], hyp[:, 2:] - hyp[:, :2]], 1)
        accumulator.update(
            [r.track for r in truth],
            [int(t) for t in (tracked.track_ids if tracked.track_ids is not None else [])],
            _iou_distances(np.asarray([r.box for r in truth], float).reshape(-1, 4), hyp_xywh),
        )
    summary = mm.metrics.create().compute(accumulator, metrics=list(METRICS), name=tracker)
    row = summary.iloc[0]
    report: dict[str, Any] = {"tracker": tracker, "detections": what}
    for metric in METRICS:
        value = row[metric]
        report[metric] = (
            int(value) if metric.startswith(("num_", "mostly")) else round(float(value), 4)
        )
    return report
