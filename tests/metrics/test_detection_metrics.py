"""DetectionMetrics beyond the pycocotools comparison: confusion matrix, edge cases, input errors."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from visiona.data.detection.annotations import ImageAnnotation, ObjectAnnotation
from visiona.metrics.detection import DetectionMetrics, GroundTruth, evaluate_detections
from visiona.results.detections import Detections

# pycocotools' decode trips a numpy 2 DeprecationWarning; it is the reference, not our code.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

NAMES = ("a", "b", "c")


def dets(boxes, scores, ids, masks=None, names=NAMES) -> Detections:
    return Detections(np.reshape(boxes, (-1, 4)), scores, ids, names, masks=masks)


def truth(boxes, ids, crowd=None, masks=None, size=None) -> GroundTruth:
    return GroundTruth(np.reshape(boxes, (-1, 4)), ids, crowd, masks, size)


def box_mask(box, height=60, width=80) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = True
    return mask


def test_confusion_matrix_hand_made_cases() -> None:
    metrics = DetectionMetrics(NAMES, confusion_iou=0.5, confusion_conf=0.25)
    image1 = truth(
        [[0, 0, 10, 10], [20, 20, 40, 40], [50, 50, 70, 70], [100, 100, 200, 200]],
        [0, 1, 2, 0],
        crowd=[False, False, False, True],
    )
    preds1 = dets(
        [
            [0, 0, 10, 10],
            [20, 20, 40, 40],
            [80, 0, 90, 10],
            [120, 120, 130, 130],
            [0, 0, 10, 9],
            [50, 50, 70, 70],
        ],
        [0.9, 0.8, 0.7, 0.6, 0.5, 0.1],
        [0, 0, 2, 1, 0, 1],
    )
    # correct a; b predicted as a; false positive c; b inside the crowd region (ignored);
    # duplicate a (false positive); b on the c object below the confidence threshold (c missed).
    metrics.update([preds1], [image1])
    expected = np.array([
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 1],
        [1, 0, 1, 0],
    ])  # fmt: skip
    np.testing.assert_array_equal(metrics.compute().confusion, expected)

    # A background image with one prediction, an image whose only object is missed.
    metrics.update(
        [dets([[5, 5, 15, 15]], [0.9], [1]), dets(np.zeros((0, 4)), [], [])],
        [truth(np.zeros((0, 4)), []), truth([[0, 0, 30, 30]], [1])],
    )
    report = metrics.compute()
    expected[3, 1] += 1
    expected[1, 3] += 1
    np.testing.assert_array_equal(report.confusion, expected)
    assert report.confusion[:3].sum(axis=1).tolist() == [p.num_gt for p in report.per_class]

    lenient = DetectionMetrics(NAMES, confusion_conf=0.05)  # now the 0.1 prediction counts
    lenient.update([preds1], [image1])
    assert lenient.compute().confusion[2].tolist() == [0, 1, 0, 0]


def test_confusion_takes_predictions_best_score_first() -> None:
    # Two predictions overlap one object; the better-scored one takes it even with lower IoU.
    metrics = DetectionMetrics(NAMES)
    metrics.update(
        [dets([[0, 0, 10, 10], [0, 0, 10, 8]], [0.4, 0.9], [0, 1])], [truth([[0, 0, 10, 10]], [0])]
    )
    assert metrics.compute().confusion.tolist() == [
        [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0],
    ]  # fmt: skip


def test_segm_confusion_uses_mask_overlap() -> None:
    # Same boxes, disjoint masks: a mask match fails where a box match would succeed.
    gt_mask = np.zeros((1, 60, 80), dtype=bool)
    gt_mask[0, 0:20, 0:10] = True
    pred_mask = np.zeros((1, 60, 80), dtype=bool)
    pred_mask[0, 0:20, 10:20] = True
    box = [[0, 0, 20, 20]]
    metrics = DetectionMetrics(NAMES, iou_type="segm")
    metrics.update([dets(box, [0.9], [0], pred_mask)], [truth(box, [0], masks=gt_mask)])
    report = metrics.compute()
    assert report.confusion[0].tolist() == [0, 0, 0, 1] and report.confusion[3, 0] == 1
    assert report.map == 0.0


def test_iou_exactly_on_a_threshold_counts_as_coco_does() -> None:
    # IoU = 110 / 200 = 0.55 exactly: matched at 0.50 and 0.55 (torchmetrics' float32 defaults
    # would say 0.55 < 0.550000011 and miss the second).
    report = evaluate_detections(
        [dets([[0, 0, 11, 10]], [0.9], [0])], [truth([[0, 0, 20, 10]], [0])], NAMES
    )
    assert report.map == pytest.approx(0.2)
    assert report.map50 == 1.0 and report.map75 == 0.0


def test_segm_counts_false_positives_on_background_images() -> None:
    # torchmetrics' segm-only mode drops images without ground truth (map would be 1.0).
    box = (10, 10, 30, 30)
    preds = [
        dets([box], [0.9], [0], box_mask(box)[None]),
        dets([box], [0.95], [0], box_mask(box)[None]),
    ]
    targets = [
        truth([box], [0], masks=box_mask(box)[None]),
        truth(np.zeros((0, 4)), [], size=(80, 60)),
    ]
    report = evaluate_detections(preds, targets, NAMES, iou_type="segm")
    assert report.map == pytest.approx(0.5) and report.map50 == pytest.approx(0.5)
    assert report.confusion[3, 0] == 1


def test_no_predictions_scores_zero() -> None:
    report = evaluate_detections(
        [dets(np.zeros((0, 4)), [], [])] * 2,
        [truth([[0, 0, 50, 50]], [0]), truth([[0, 0, 5, 5], [10, 10, 20, 20]], [1, 1])],
        NAMES,
    )
    assert report.map == 0 and report.map50 == 0 and report.mar100 == 0
    assert report.map_small == 0 and report.map_medium == 0 and report.map_large == -1
    assert [c.ap for c in report.per_class] == [0, 0, -1]
    assert report.confusion[:, 3].tolist() == [1, 2, 0, 0]


def test_no_ground_truth_gives_minus_one() -> None:
    report = evaluate_detections(
        [dets([[0, 0, 5, 5]], [0.9], [2])], [truth(np.zeros((0, 4)), [])], NAMES
    )
    assert report.stats == (-1.0,) * 12
    assert all(c.ap == -1 and c.num_gt == 0 for c in report.per_class)
    assert report.confusion[3].tolist() == [0, 0, 1, 0]
    assert np.all(report.precision == -1)


def test_crowd_objects_are_ignored() -> None:
    crowd = truth([[0, 0, 40, 40]], [0], crowd=[True])
    report = evaluate_detections([dets([[5, 5, 15, 15]], [0.9], [0])], [crowd], NAMES)
    assert report.per_class[0].num_gt == 0 and report.map == -1
    assert report.confusion.sum() == 0  # neither missed nor a false positive


def test_report_to_dict_is_json_and_reset_forgets() -> None:
    metrics = DetectionMetrics(NAMES)
    metrics.update([dets([[0, 0, 10, 10]], [0.9], [0])], [truth([[0, 0, 10, 10]], [0])])
    data = json.loads(json.dumps(metrics.compute().to_dict()))
    assert data["map"] == pytest.approx(1.0) and data["num_images"] == 1
    assert data["per_class"][0] == {"name": "a", "ap": pytest.approx(1.0),
                                    "ap50": pytest.approx(1.0), "ar100": 1.0, "num_gt": 1}  # fmt: skip
    assert data["confusion"][0] == [1, 0, 0, 0] and "precision" not in data
    metrics.reset()
    empty = metrics.compute()
    assert empty.num_images == 0 and empty.map == -1 and empty.confusion.sum() == 0


def test_bad_input_raises_value_error() -> None:
    metrics = DetectionMetrics(NAMES)
    five = ("a", "b", "c", "d", "e")
    with pytest.raises(ValueError, match="prediction class id 4 is outside the 3 class names"):
        metrics.update(
            [dets([[0, 0, 5, 5]], [0.5], [4], names=five)], [truth(np.zeros((0, 4)), [])]
        )
    with pytest.raises(ValueError, match="image 1: ground-truth class id 3"):
        metrics.update(  # the first image is fine, the second is not: nothing is added
            [dets([[0, 0, 5, 5]], [0.9], [0]), dets(np.zeros((0, 4)), [], [])],
            [truth([[0, 0, 5, 5]], [0]), truth([[0, 0, 5, 5]], [3])],
        )
    with pytest.raises(ValueError, match="1 predictions but 2"):
        metrics.update([dets(np.zeros((0, 4)), [], [])], [truth(np.zeros((0, 4)), [])] * 2)
    assert metrics.num_images == 0 and metrics.compute().confusion.sum() == 0
    segm = DetectionMetrics(NAMES, iou_type="segm")
    with pytest.raises(ValueError, match="ground truth has no masks"):
        segm.update([dets([[0, 0, 5, 5]], [0.5], [0])], [truth([[0, 0, 5, 5]], [0])])
    masks = box_mask((0, 0, 5, 5))[None]
    with pytest.raises(ValueError, match="predictions have no masks"):
        segm.update([dets([[0, 0, 5, 5]], [0.5], [0])], [truth([[0, 0, 5, 5]], [0], masks=masks)])
    with pytest.raises(ValueError, match="predicted masks are 8×6 but the ground truth is 80×60"):
        segm.update(
            [dets([[0, 0, 5, 5]], [0.5], [0], np.zeros((1, 6, 8), bool))],
            [truth([[0, 0, 5, 5]], [0], masks=masks)],
        )
    with pytest.raises(ValueError, match="iou_type"):
        DetectionMetrics(NAMES, iou_type="keypoints")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        DetectionMetrics([])
    with pytest.raises(ValueError, match="confusion_iou"):
        DetectionMetrics(NAMES, confusion_iou=1.5)
    with pytest.raises(ValueError, match="disagree"):
        GroundTruth(np.zeros((2, 4)), [0])


def test_ground_truth_from_annotation_decodes_masks_like_pycocotools() -> None:
    polygon = [10.5, 5.25, 40.0, 8.0, 30.75, 35.5, 12.0, 30.0]
    rle_mask = box_mask((50, 20, 70, 40))
    flat = rle_mask.reshape(-1, order="F")
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    image = ImageAnnotation(
        "x.jpg", 80, 60,
        [ObjectAnnotation((10.5, 5.25, 40, 35.5), 1, polygons=[polygon]),
         ObjectAnnotation((50, 20, 70, 40), 2, rle={"size": [60, 80], "counts": counts},
                          iscrowd=True)],
    )  # fmt: skip
    gt = GroundTruth.from_annotation(image, masks=True)
    assert gt.class_ids.tolist() == [1, 2] and gt.iscrowd.tolist() == [False, True]
    assert gt.boxes.dtype == np.float32 and gt.image_size == (80, 60)
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([polygon], 60, 80)))
    np.testing.assert_array_equal(gt.masks[0], expected.astype(bool))
    np.testing.assert_array_equal(gt.masks[1], rle_mask)
    assert GroundTruth.from_annotation(image).masks is None

    image.objects.append(ObjectAnnotation((0, 0, 5, 5), 0))
    with pytest.raises(ValueError, match=r"x\.jpg: an object of class 0 has no mask"):
        GroundTruth.from_annotation(image, masks=True)
    with pytest.raises(ValueError, match="image size unknown"):
        GroundTruth.from_annotation(ImageAnnotation("y.jpg", 0, 0), masks=True)
    empty = GroundTruth.from_annotation(ImageAnnotation("z.jpg", 80, 60), masks=True)
    assert empty.masks.shape == (0, 60, 80) and len(empty) == 0


def test_many_detections_keep_coco_best_100(tmp_path) -> None:
    # 150 detections in one image: COCO evaluates the best 100; so does visiona, silently.
    rng = np.random.default_rng(3)
    xy = np.round(rng.uniform(0, 300, (150, 2)))
    boxes = np.concatenate([xy, xy + 20], axis=1)
    scores = (rng.permutation(150) + 1) / 151
    gt_boxes = boxes[::3] + 1
    report = evaluate_detections(
        [dets(boxes, scores, np.zeros(150, np.int64))],
        [truth(gt_boxes, np.zeros(50, np.int64))],
        NAMES,
    )
    document = {
        "images": [{"id": 1, "width": 400, "height": 400}],
        "categories": [{"id": 0, "name": "a"}],
        "annotations": [
            {"id": i + 1, "image_id": 1, "category_id": 0, "bbox": [*b[:2], 20, 20],
             "area": 400.0, "iscrowd": 0} for i, b in enumerate(gt_boxes.tolist())
        ],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(document))
    results = [{"image_id": 1, "category_id": 0, "bbox": [*b[:2], 20, 20], "score": float(s)}
               for b, s in zip(boxes.tolist(), np.float32(scores).tolist(), strict=True)]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
        evaluation = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert [round(v, 4) for v in report.stats] == [round(float(v), 4) for v in evaluation.stats]
