"""The ultralytics adapter, on fake objects shaped like ``ultralytics.engine.results.Results``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from visiona.models.ultralytics_adapter import detections_from_ultralytics
from visiona.results import Detections


def fake_result(*, masks=None, keypoints=None, track_ids=None, orig_shape=(50, 100)):
    """Two boxes on a 100×50 image, as ultralytics returns them (tensors, float class ids)."""
    boxes = SimpleNamespace(
        xyxy=torch.tensor([[20.0, 10.0, 40.0, 20.0], [50.0, 5.0, 90.0, 45.0]]),
        conf=torch.tensor([0.9, 0.4]),
        cls=torch.tensor([2.0, 0.0]),
        id=track_ids,
    )
    return SimpleNamespace(
        boxes=boxes,
        names={0: "person", 1: "bicycle", 2: "car"},
        orig_shape=orig_shape,
        path="street.jpg",
        masks=SimpleNamespace(data=masks) if masks is not None else None,
        keypoints=SimpleNamespace(data=keypoints) if keypoints is not None else None,
    )


def test_boxes_scores_classes_and_names() -> None:
    detections = detections_from_ultralytics(fake_result())
    assert isinstance(detections, Detections)
    assert detections.xyxy.tolist() == [[20, 10, 40, 20], [50, 5, 90, 45]]
    assert detections.scores.tolist() == pytest.approx([0.9, 0.4])
    assert detections.class_ids.tolist() == [2, 0]  # no background: ids carry over
    assert detections.labels == ["car", "person"]
    assert detections.names == ("person", "bicycle", "car")
    assert detections.source == "street.jpg" and detections.image_size == (100, 50)
    assert detections.masks is None and detections.keypoints is None
    assert detections.track_ids is None


def test_track_ids_keypoints_and_numpy_inputs() -> None:
    keypoints = np.array([[[25, 12], [30, 15]], [[60, 10], [70, 40]]], dtype=np.float32)
    result = fake_result(keypoints=keypoints, track_ids=torch.tensor([7.0, 9.0]))
    result.boxes.xyxy = result.boxes.xyxy.numpy()  # plain arrays work too
    result.names = ["person", "bicycle", "car"]
    detections = detections_from_ultralytics(result)
    assert detections.track_ids.tolist() == [7, 9]
    assert detections.keypoints.shape == (2, 2, 3)
    assert detections.keypoints[1, 1].tolist() == [70, 40, 1]  # (x, y) get visibility 1
    assert detections.keypoint_columns == ("x", "y", "visibility")
    scored = detections_from_ultralytics(fake_result(keypoints=np.concatenate(
        [keypoints, np.full((2, 2, 1), 0.5, np.float32)], axis=2)))  # fmt: skip
    assert scored.to_dict()["keypoint_columns"] == ["x", "y", "score"]
    assert detections.to_dict()["objects"][0]["track_id"] == 7


def test_letterboxed_masks_return_to_image_size() -> None:
    # A 100×50 image letterboxed into 64×64: scale 0.64 → 64×32, 16 rows of padding on top.
    letterboxed = torch.zeros(2, 64, 64)
    letterboxed[0, 16 + 6 : 16 + 13, 13:26] = 1.0  # the car at rows 10–20, columns 20–40
    letterboxed[1, 0:16] = 1.0  # padding only: nothing in the image
    detections = detections_from_ultralytics(fake_result(masks=letterboxed))
    assert detections.masks.shape == (2, 50, 100) and detections.masks.dtype == bool
    rows, cols = np.nonzero(detections.masks[0])
    assert abs(rows.min() - 10) <= 1 and abs(rows.max() + 1 - 20) <= 1
    assert abs(cols.min() - 20) <= 1 and abs(cols.max() + 1 - 40) <= 1
    assert not detections.masks[1].any()
    native = torch.zeros(2, 50, 100)
    native[0, 10:20, 20:40] = 1.0  # retina_masks=True: already at image size
    assert detections_from_ultralytics(fake_result(masks=native)).masks[0].sum() == 200


def test_empty_result_and_unsupported_kinds() -> None:
    empty = fake_result()
    empty.boxes = SimpleNamespace(
        xyxy=torch.zeros(0, 4), conf=torch.zeros(0), cls=torch.zeros(0), id=None
    )
    detections = detections_from_ultralytics(empty)
    assert len(detections) == 0 and detections.names == ("person", "bicycle", "car")
    with pytest.raises(ValueError, match="oriented boxes"):
        detections_from_ultralytics(SimpleNamespace(boxes=None, obb=object()))
    with pytest.raises(ValueError, match="no boxes"):
        detections_from_ultralytics(SimpleNamespace(boxes=None, probs=object()))
