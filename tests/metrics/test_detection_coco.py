"""visiona's COCO numbers equal pycocotools' COCOeval run directly on the same data."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from metrics.coco_case import CATEGORY_IDS, NO_GT_CATEGORY, NO_PRED_CATEGORY, CocoCase, build_case
from visiona.data.detection.coco import read_coco
from visiona.metrics.detection import DetectionMetrics, GroundTruth
from visiona.results.detections import Detections

# pycocotools' decode trips a numpy 2 DeprecationWarning; it is the reference, not our code.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def reference(case: CocoCase, iou_type: str, cat_ids: list[int] | None = None) -> COCOeval:
    """COCOeval straight from the JSON file and the results list (xywh boxes / RLE masks)."""
    results = copy.deepcopy(case.results)
    for result in results:  # loadRes takes boxes when both are present
        result.pop("segmentation" if iou_type == "bbox" else "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO(str(case.gt_json))
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), iou_type)
        if cat_ids is not None:
            evaluation.params.catIds = cat_ids
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def visiona_report(case: CocoCase, iou_type: str):
    dataset, problems = read_coco(case.gt_json)
    assert not [p for p in problems if p.level == "error"], problems
    assert dataset.classes == ("cat", "dog", "bird", "fish", "frog")
    # The reader keeps each annotation's stored area; GroundTruth takes small/medium/large from it.
    targets = [GroundTruth.from_annotation(i, masks=iou_type == "segm") for i in dataset.images]
    predictions = [
        Detections(
            d["xyxy"],
            d["scores"],
            d["class_ids"],
            dataset.classes,
            masks=d["masks"] if iou_type == "segm" else None,
        )
        for d in case.detections
    ]
    metrics = DetectionMetrics(dataset.classes, iou_type=iou_type)
    for start in range(0, len(targets), 5):  # batches, as a validation loop feeds them
        metrics.update(predictions[start : start + 5], targets[start : start + 5])
    return metrics.compute()


@pytest.mark.parametrize(
    ("iou_type", "area"),
    [("bbox", "box"), ("segm", "mask"), ("bbox", "mask"), ("segm", "box")],
    ids=["bbox", "segm", "bbox-segment-areas", "segm-box-areas"],
)
def test_equals_pycocotools(tmp_path, iou_type: str, area: str) -> None:
    case = build_case(tmp_path, area=area)
    expected = reference(case, iou_type)
    report = visiona_report(case, iou_type)

    assert report.num_images == 14 and report.iou_type == iou_type
    assert 0.1 < expected.stats[0] < 0.9  # a case where mistakes would show
    assert all(s > 0 for s in expected.stats[3:6])  # small, medium and large objects exist
    for name, ours, theirs in zip(
        (
            "map",
            "map50",
            "map75",
            "map_s",
            "map_m",
            "map_l",
            "mar1",
            "mar10",
            "mar100",
            "mar_s",
            "mar_m",
            "mar_l",
        ),
        report.stats,
        expected.stats,
        strict=True,
    ):
        assert round(ours, 4) == round(float(theirs), 4), name
    # The whole precision array, with visiona class k = k-th category id.
    np.testing.assert_allclose(report.precision, expected.eval["precision"], atol=1e-9)

    for index, category in enumerate(CATEGORY_IDS):
        alone = reference(case, iou_type, cat_ids=[category])
        row = report.per_class[index]
        assert round(row.ap, 4) == round(float(alone.stats[0]), 4), category
        assert round(row.ap50, 4) == round(float(alone.stats[1]), 4), category
        assert round(row.ar100, 4) == round(float(alone.stats[8]), 4), category
    by_id = dict(zip(CATEGORY_IDS, report.per_class, strict=True))
    assert by_id[NO_GT_CATEGORY].ap == -1 and by_id[NO_GT_CATEGORY].num_gt == 0
    assert by_id[NO_PRED_CATEGORY].ap == 0 and by_id[NO_PRED_CATEGORY].num_gt > 0
    valid = [c.ap for c in report.per_class if c.ap > -1]
    assert report.map == pytest.approx(np.mean(valid), abs=1e-6)  # -1 classes left out


def test_size_buckets_follow_the_stored_area_not_the_box(tmp_path) -> None:
    """Segment areas (octagons: ~7/8 of the box) move objects between buckets; COCOeval follows."""
    (tmp_path / "box").mkdir()
    (tmp_path / "segment").mkdir()
    by_box = reference(build_case(tmp_path / "box", area="box"), "bbox")
    by_segment_case = build_case(tmp_path / "segment", area="mask")
    by_segment = reference(by_segment_case, "bbox")
    # The case discriminates: the two area conventions give different small/medium numbers.
    pairs = zip(by_box.stats[3:5], by_segment.stats[3:5], strict=True)
    assert any(round(a, 4) != round(b, 4) for a, b in pairs)
    report = visiona_report(by_segment_case, "bbox")
    for ours, theirs in zip(report.stats[3:6], by_segment.stats[3:6], strict=True):
        assert round(ours, 6) == round(float(theirs), 6)
    for ours, theirs in zip(report.stats[9:12], by_segment.stats[9:12], strict=True):
        assert round(ours, 6) == round(float(theirs), 6)
