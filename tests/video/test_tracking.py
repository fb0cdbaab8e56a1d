"""Tracking: stable ids (trackers package), line counting, the synthetic set and MOT metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests_support import require_module
from visiona.engine.predict.track import LineCounter, ObjectTracker, parse_line
from visiona.errors import UnknownNameError, UsageError
from visiona.results.classification import Classification
from visiona.results.detections import Detections
from visiona.results.faces import Faces

require_module(
    "trackers", "pip install --no-deps trackers==2.6.1 (scripts/install_video_packages.sh)"
)
require_module("motmetrics", 'pip install "visiona[video]"')

NAMES = ("car", "person")


def _two_objects(frame: int) -> Detections:
    """A car moving right and a person moving down, given in changing order."""
    car = (10 + 5 * frame, 20, 30 + 5 * frame, 40)
    person = (100, 5 + 4 * frame, 115, 35 + 4 * frame)
    boxes, classes = [car, person], [0, 1]
    if frame % 2:
        boxes, classes = boxes[::-1], classes[::-1]
    return Detections(xyxy=boxes, scores=[0.9, 0.9], class_ids=classes, names=NAMES)


@pytest.mark.parametrize("name", ["bytetrack", "sort", "ocsort"])
def test_ids_stay_with_their_objects(name: str) -> None:
    tracker = ObjectTracker(name, fps=10)
    ids: dict[str, set[int]] = {"car": set(), "person": set()}
    for frame in range(12):
        tracked = tracker.update(_two_objects(frame))
        assert tracked.track_ids is not None and len(tracked.track_ids) == len(tracked)
        for label, track in zip(tracked.labels, tracked.track_ids, strict=True):
            ids[label].add(int(track))
    assert len(ids["car"]) == 1 and len(ids["person"]) == 1
    assert ids["car"] != ids["person"]
    assert all(len(trail) > 3 for trail in tracker.trails.values())


def test_tracked_detections_keep_masks_and_json_round_trip() -> None:
    tracker = ObjectTracker("bytetrack")
    masks = np.zeros((2, 50, 130), bool)
    for frame in range(4):
        base = _two_objects(frame)
        result = tracker.update(
            Detections(base.xyxy, base.scores, base.class_ids, NAMES, masks=masks)
        )
    assert result.masks is not None and len(result.masks) == len(result)
    again = Detections.from_dict(json.loads(result.to_json()))
    assert again.track_ids is not None and np.array_equal(again.track_ids, result.track_ids)


def test_faces_get_track_ids() -> None:
    tracker = ObjectTracker("sort")
    for frame in range(5):
        faces = Faces(xyxy=[(10 + frame, 10, 40 + frame, 40)], scores=[0.95])
        tracked = tracker.update(faces)
    assert tracked.track_ids is not None and len(tracked) == 1
    assert Faces.from_dict(tracked.to_dict()).track_ids.tolist() == tracked.track_ids.tolist()


def test_landmark_sets_are_tracked_by_their_extent() -> None:
    from visiona.results.keypoints import Keypoints

    tracker = ObjectTracker("bytetrack")
    for frame in range(5):
        hands = [
            [[10 + frame, 10, 0], [30 + frame, 40, 0]],
            [[80, 5 + frame, 0], [95, 30 + frame, 0]],
        ]
        result = Keypoints(points=hands, visibility=np.ones((2, 2)), scores=[0.9, 0.8],
                           names=("wrist", "tip"), edges=[(0, 1)], labels=("Left", "Right"),
                           kind="hands")  # fmt: skip
        tracked = tracker.update(result)
    assert tracked.track_ids is not None and len(tracked) == 2
    assert tracked.labels == ("Left", "Right") or set(tracked.labels) == {"Left", "Right"}
    again = Keypoints.from_dict(tracked.to_dict())
    assert again.track_ids.tolist() == tracked.track_ids.tolist()


def test_results_without_boxes_and_unknown_trackers_are_refused() -> None:
    with pytest.raises(UnknownNameError):
        ObjectTracker("deepsort-ish")
    top = Classification(class_ids=[0, 1], probabilities=[0.7, 0.3], labels=("a", "b"))
    with pytest.raises(UsageError, match="--track follows objects"):
        ObjectTracker("bytetrack").update(top)


def test_line_counter_counts_crossings_per_class() -> None:
    tracker = ObjectTracker("bytetrack", fps=10)
    counter = LineCounter(parse_line("60,0,60,100"))  # the car crosses x=60, the person does not
    for frame in range(16):
        counter.update(tracker.update(_two_objects(frame)))
    counts = counter.counts
    assert set(counts) == {"car"}
    assert counts["car"]["in"] + counts["car"]["out"] == 1
    with pytest.raises(UsageError):
        parse_line("1,2,3")


def test_synthetic_tracks_and_motmetrics(tmp_path: Path) -> None:
    from visiona.data.video.synthetic import make_tracks
    from visiona.engine.evaluate.track import evaluate_tracking, read_mot

    made = make_tracks(tmp_path / "tracks", frames=30, objects=3, width=128, height=96)
    gt = read_mot(made.out_dir / "gt" / "gt.txt")
    assert len(gt) == 30 and all(len(rows) == 3 for rows in gt.values())
    assert {row.track for rows in gt.values() for row in rows} == {1, 2, 3}
    report = evaluate_tracking(made.out_dir, "bytetrack")
    assert report["num_frames"] == 30
    assert 0.5 < report["mota"] <= 1.0 and 0.5 < report["idf1"] <= 1.0
    with pytest.raises(UsageError, match="not empty"):
        make_tracks(made.out_dir, frames=5)
