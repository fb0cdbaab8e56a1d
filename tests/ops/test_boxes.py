"""Box utilities against hand-computed values, for numpy and torch inputs alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visiona.ops import (
    batched_nms,
    box_area,
    box_iou,
    clip_boxes,
    convert_boxes,
    denormalize_boxes,
    nms,
    normalize_boxes,
)

# Two 10×10 boxes overlapping in a 5×5 square, and one far away.
BOXES = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30]], dtype=np.float32)


def test_area_and_iou_by_hand() -> None:
    assert box_area(BOXES).tolist() == [100, 100, 100]
    iou = box_iou(BOXES, BOXES)
    assert isinstance(iou, np.ndarray) and iou.shape == (3, 3)
    # 25 / (100 + 100 - 25) = 1/7
    assert iou[0, 1] == pytest.approx(1 / 7) and iou[1, 0] == pytest.approx(1 / 7)
    assert iou[0, 2] == 0 and np.allclose(np.diag(iou), 1)
    assert box_iou(np.zeros((0, 4)), BOXES).shape == (0, 3)
    assert box_iou([[0, 0, 2, 2]], [[1, 0, 3, 2]])[0, 0] == pytest.approx(1 / 3)


def test_numpy_in_numpy_out_and_torch_in_torch_out() -> None:
    ints = BOXES.astype(np.int64)
    area = box_area(ints)
    assert isinstance(area, np.ndarray) and area.dtype == np.float32
    assert box_area(BOXES.astype(np.float64)).dtype == np.float64
    tensor_iou = box_iou(torch.from_numpy(BOXES), torch.from_numpy(BOXES))
    assert isinstance(tensor_iou, torch.Tensor)
    kept = nms(torch.from_numpy(BOXES), torch.tensor([0.9, 0.8, 0.7]), 0.1)
    assert isinstance(kept, torch.Tensor) and kept.tolist() == [0, 2]
    read_only = BOXES.copy()
    read_only.flags.writeable = False
    assert clip_boxes(read_only, 12, 12)[1].tolist() == [5, 5, 12, 12]
    assert read_only[1].tolist() == [5, 5, 15, 15]  # the input is never modified


def test_nms_drops_the_weaker_overlapping_box() -> None:
    scores = np.array([0.8, 0.9, 0.7])
    kept = nms(BOXES, scores, iou_threshold=0.1)
    assert kept.dtype == np.int64 and kept.tolist() == [1, 2]  # by decreasing score
    assert nms(BOXES, scores, iou_threshold=0.2).tolist() == [1, 0, 2]  # 1/7 < 0.2 keeps both
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_batched_nms_is_class_aware() -> None:
    scores = [0.8, 0.9, 0.7]
    assert batched_nms(BOXES, scores, [0, 0, 0], 0.1).tolist() == [1, 2]
    assert batched_nms(BOXES, scores, [0, 1, 0], 0.1).tolist() == [1, 0, 2]
    with pytest.raises(ValueError, match="class_ids"):
        batched_nms(BOXES, scores, [0, 1], 0.1)


def test_convert_between_formats() -> None:
    xyxy = np.array([[10, 20, 30, 60]], dtype=np.float32)
    assert convert_boxes(xyxy, "xyxy", "xywh").tolist() == [[10, 20, 20, 40]]
    assert convert_boxes(xyxy, "xyxy", "cxcywh").tolist() == [[20, 40, 20, 40]]
    assert convert_boxes([[20, 40, 20, 40]], "cxcywh", "xywh").tolist() == [[10, 20, 20, 40]]
    assert convert_boxes([[10, 20, 20, 40]], "xywh", "xyxy").tolist() == [[10, 20, 30, 60]]
    rng = np.random.default_rng(0)
    boxes = np.sort(rng.uniform(0, 100, (20, 2, 2)), axis=1).transpose(0, 2, 1).reshape(20, 4)
    boxes = boxes[:, [0, 2, 1, 3]]  # x0 y0 x1 y1 with x0 <= x1, y0 <= y1
    for fmt in ("xywh", "cxcywh"):
        back = convert_boxes(convert_boxes(boxes, "xyxy", fmt), fmt, "xyxy")
        assert np.allclose(back, boxes)
    with pytest.raises(ValueError, match="unknown box format 'yolo'"):
        convert_boxes(xyxy, "xyxy", "yolo")


def test_normalize_and_denormalize() -> None:
    pixels = np.array([[20, 10, 100, 50]], dtype=np.float32)
    normalised = normalize_boxes(pixels, width=200, height=100)
    assert np.allclose(normalised, [[0.1, 0.1, 0.5, 0.5]])
    assert np.allclose(denormalize_boxes(normalised, 200, 100), pixels)
    # The same scaling holds for the centre/size formats (YOLO labels).
    yolo = normalize_boxes(convert_boxes(pixels, "xyxy", "cxcywh"), 200, 100)
    assert np.allclose(yolo, [[0.3, 0.3, 0.4, 0.4]])
    with pytest.raises(ValueError, match="positive"):
        normalize_boxes(pixels, 0, 100)


def test_clip_boxes_to_the_image() -> None:
    boxes = torch.tensor([[-5.0, -5.0, 250.0, 50.0], [210.0, 10.0, 220.0, 20.0]])
    clipped = clip_boxes(boxes, width=200, height=100)
    assert isinstance(clipped, torch.Tensor)
    assert clipped.tolist() == [[0, 0, 200, 50], [200, 10, 200, 20]]  # outside → zero width
    assert boxes[0, 0] == -5  # not clipped in place


@pytest.mark.parametrize("bad", [np.zeros((3, 5)), np.zeros(4), np.zeros((2, 2, 4))])
def test_bad_shapes_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        box_area(bad)
