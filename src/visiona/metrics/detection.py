"""COCO detection metrics: mAP / mAR, per-class AP, precision-recall data, confusion matrix.

:class:`DetectionMetrics` accumulates predictions (:class:`~visiona.results.detections.Detections`)
and ground truth (:class:`GroundTruth`) image by image and computes a :class:`DetectionReport`.
The COCO numbers come from torchmetrics' ``MeanAveragePrecision`` with the pycocotools backend, so
they equal ``pycocotools.cocoeval.COCOeval`` run on the same data (the tests check all 12
``stats`` and the per-class APs to 4 decimals, for boxes and masks):

- 10 IoU thresholds ``.50:.05:.95``, 101 recall points, areas all/small/medium/large
  (``< 32²``, ``32²–96²``, ``> 96²`` pixels), at most 1/10/100 detections per image (the
  best-scoring ones);
- crowd (or VOC "difficult") objects are ignored: detections on them are neither true nor false;
- a class without ground-truth objects has AP ``-1`` and is left out of the mean, as are area
  ranges without objects.

Per-class AP/AR are read from COCOeval's accumulated ``precision`` / ``recall`` arrays, which
give exactly what COCOeval reports with ``params.catIds = [c]`` at a fraction of the cost of
torchmetrics' ``class_metrics`` (one extra evaluation per class).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from visiona.metrics.ground_truth import GroundTruth
from visiona.metrics.matching import coco_ious, confusion_counts, rle_encode

if TYPE_CHECKING:
    from visiona.results.detections import Detections

__all__ = [
    "ClassAP",
    "DetectionMetrics",
    "DetectionReport",
    "GroundTruth",
    "evaluate_detections",
]

IouType = Literal["bbox", "segm"]
IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())
"""COCO's IoU thresholds ``.50:.05:.95``, bit for bit as pycocotools builds them."""
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
"""COCO's 101 recall points (the R axis of :attr:`DetectionReport.precision`), as pycocotools."""
AREA_RANGES = ("all", "small", "medium", "large")
MAX_DETECTIONS = (1, 10, 100)
STAT_NAMES = (
    "map", "map50", "map75", "map_small", "map_medium", "map_large",
    "mar1", "mar10", "mar100", "mar_small", "mar_medium", "mar_large",
)  # fmt: skip
"""The 12 numbers of COCOeval's ``stats``, in its order."""
_TORCHMETRICS_KEYS = (
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
    "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large",
)  # fmt: skip


@dataclass(frozen=True)
class ClassAP:
    """COCO numbers of one class (``-1`` where the class has no ground-truth objects).

    Attributes:
        name: Class name.
        ap: AP averaged over IoU ``.50:.95``.
        ap50: AP at IoU 0.5.
        ar100: Recall averaged over IoU ``.50:.95`` with up to 100 detections per image.
        num_gt: Non-crowd ground-truth objects of the class.
    """

    name: str
    ap: float
    ap50: float
    ar100: float
    num_gt: int


@dataclass
class DetectionReport:
    """Everything :class:`DetectionMetrics` computes; scalars are ``-1`` where COCO has no data.

    Attributes:
        map, map50, map75, map_small, map_medium, map_large: mAP over IoU ``.50:.95``, at 0.5,
            at 0.75, and per object size.
        mar1, mar10, mar100, mar_small, mar_medium, mar_large: mAR with 1/10/100 detections
            per image, and per object size (100 detections).
        per_class: One :class:`ClassAP` per class name.
        precision: COCO precision ``(T=10, R=101, K, A=4, M=3)`` float64: IoU thresholds
            :data:`IOU_THRESHOLDS`, recall points :data:`RECALL_POINTS`, classes, areas
            :data:`AREA_RANGES`, max detections :data:`MAX_DETECTIONS`; ``-1`` without data.
        confusion: ``(K + 1, K + 1)`` int64; rows true class, columns predicted class, last row
            "background" (false positives), last column "background" (missed objects).
        class_names: The ``K`` class names.
        iou_type: ``"bbox"`` or ``"segm"``.
        num_images: Images evaluated.
    """

    map: float
    map50: float
    map75: float
    map_small: float
    map_medium: float
    map_large: float
    mar1: float
    mar10: float
    mar100: float
    mar_small: float
    mar_medium: float
    mar_large: float
    per_class: list[ClassAP]
    precision: np.ndarray
    confusion: np.ndarray
    class_names: tuple[str, ...]
    iou_type: str
    num_images: int

    @property
    def stats(self) -> tuple[float, ...]:
        """The 12 numbers in the order of COCOeval's ``stats``."""
        return tuple(getattr(self, name) for name in STAT_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: scalars, per-class numbers, confusion matrix (no precision array)."""
        data: dict[str, Any] = {"iou_type": self.iou_type, "num_images": self.num_images}
        data.update({name: float(getattr(self, name)) for name in STAT_NAMES})
        data["per_class"] = [
            {"name": c.name, "ap": c.ap, "ap50": c.ap50, "ar100": c.ar100, "num_gt": c.num_gt}
            for c in self.per_class
        ]
        data["class_names"] = list(self.class_names)
        data["confusion"] = self.confusion.tolist()
        return data


class DetectionMetrics:
    """Accumulates predictions and ground truth; :meth:`compute` gives a :class:`DetectionReport`.

    Args:
        class_names: The ``K`` class names; class ids index them.
        iou_type: ``"bbox"`` (box IoU) or ``"segm"`` (mask IoU; predictions and ground truth
            need masks).
        confusion_iou: Minimum IoU for a confusion-matrix match.
        confusion_conf: Minimum score of a prediction to enter the confusion matrix (the COCO
            numbers use every prediction).
    """

    def __init__(
        self,
        class_names: Sequence[str],
        *,
        iou_type: IouType = "bbox",
        confusion_iou: float = 0.5,
        confusion_conf: float = 0.25,
    ) -> None:
        self.class_names = tuple(str(name) for name in class_names)
        if not self.class_names:
            raise ValueError("class_names is empty: detection metrics need at least one class")
        if iou_type not in ("bbox", "segm"):
            raise ValueError(f"iou_type must be 'bbox' or 'segm', not {iou_type!r}")
        for name, value in (("confusion_iou", confusion_iou), ("confusion_conf", confusion_conf)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        self.iou_type: IouType = iou_type
        self.confusion_iou = float(confusion_iou)
        self.confusion_conf = float(confusion_conf)
        self._map = self._new_metric()
        self.reset()

    def _new_metric(self) -> Any:
        from torchmetrics.detection import MeanAveragePrecision

        # torchmetrics drops images without ground-truth masks in "segm"-only mode, so false
        # positives on background images would go uncounted; evaluating ("bbox", "segm") keeps
        # every image (the box results are discarded).
        iou_type = "bbox" if self.iou_type == "bbox" else ("bbox", "segm")
        # torchmetrics' default thresholds come from float32 torch.linspace (0.550000011...), so
        # an IoU or recall of exactly 0.55 would fall on the other side than in pycocotools.
        metric = MeanAveragePrecision(
            iou_type=iou_type,
            iou_thresholds=list(IOU_THRESHOLDS),
            rec_thresholds=RECALL_POINTS.tolist(),
            backend="pycocotools",
            class_metrics=False,
            extended_summary=True,
        )
        metric.warn_on_many_detections = False  # COCO keeps the best 100 per image, documented
        return metric

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._map.reset()
        k = len(self.class_names)
        self.confusion = np.zeros((k + 1, k + 1), dtype=np.int64)
        self.num_gt = np.zeros(k, dtype=np.int64)
        self.num_images = 0

    def update(self, predictions: Sequence[Detections], targets: Sequence[GroundTruth]) -> None:
        """Add a batch of images: one :class:`Detections` and one :class:`GroundTruth` each.

        Raises:
            ValueError: Lengths differ, a class id lies outside ``class_names``, or masks are
                missing / of another size for ``iou_type="segm"``.
        """
        import torch

        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions but {len(targets)} ground truths")
        k = len(self.class_names)
        preds: list[dict[str, Any]] = []
        gts: list[dict[str, Any]] = []
        confusion = np.zeros_like(self.confusion)
        num_gt = np.zeros_like(self.num_gt)
        for index, (pred, gt) in enumerate(zip(predictions, targets, strict=True)):
            where = f"image {self.num_images + index}"
            for what, ids in (("prediction", pred.class_ids), ("ground-truth", gt.class_ids)):
                if len(ids) and (ids.min() < 0 or ids.max() >= k):
                    bad = int(ids.max() if ids.max() >= k else ids.min())
                    raise ValueError(
                        f"{where}: {what} class id {bad} is outside the {k} class names "
                        f"(valid ids 0..{k - 1}); map the model's classes to the data set's"
                    )
            pred_masks, gt_masks = self._masks(pred, gt, where)
            p = {
                "boxes": torch.from_numpy(pred.xyxy.copy()),
                "scores": torch.from_numpy(pred.scores.copy()),
                "labels": torch.from_numpy(pred.class_ids.copy()),
            }
            t = {
                "boxes": torch.from_numpy(gt.boxes.copy()),
                "labels": torch.from_numpy(gt.class_ids.copy()),
                "iscrowd": torch.from_numpy(gt.iscrowd.astype(np.int64)),
            }
            if gt.areas is not None:
                t["area"] = torch.from_numpy(gt.areas.astype(np.float32))
            confident = pred.scores >= self.confusion_conf  # all the confusion matrix needs
            if pred_masks is not None and gt_masks is not None:
                p["masks"] = torch.from_numpy(pred_masks)
                t["masks"] = torch.from_numpy(gt_masks)
                dt_rles = rle_encode(pred_masks[confident])
                ious = coco_ious(dt_rles, rle_encode(gt_masks), gt.iscrowd)
            else:
                ious = coco_ious(pred.xyxy[confident], gt.boxes, gt.iscrowd)
            preds.append(p)
            gts.append(t)
            confusion += confusion_counts(
                ious, pred.scores[confident], pred.class_ids[confident], gt.class_ids, gt.iscrowd,
                k, iou_threshold=self.confusion_iou, score_threshold=self.confusion_conf,
            )  # fmt: skip
            num_gt += np.bincount(gt.class_ids[~gt.iscrowd], minlength=k)
        self._map.update(preds, gts)  # only once the whole batch is known to be valid
        self.confusion += confusion
        self.num_gt += num_gt
        self.num_images += len(predictions)

    def _masks(
        self, pred: Detections, gt: GroundTruth, where: str
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self.iou_type != "segm":
            return None, None
        if gt.masks is not None:
            size = gt.masks.shape[1:]
        elif len(gt) == 0 and gt.image_size is not None:
            size = (gt.image_size[1], gt.image_size[0])
        else:
            raise ValueError(f"{where}: ground truth has no masks; segm metrics need them")
        gt_masks = gt.masks if gt.masks is not None else np.zeros((0, *size), dtype=bool)
        if pred.masks is None:
            if len(pred):
                raise ValueError(f"{where}: predictions have no masks; segm metrics need them")
            return np.zeros((0, *size), dtype=bool), gt_masks
        if pred.masks.shape[1:] != tuple(size):
            raise ValueError(
                f"{where}: predicted masks are {pred.masks.shape[2]}×{pred.masks.shape[1]} "
                f"but the ground truth is {size[1]}×{size[0]}"
            )
        return pred.masks, gt_masks

    def compute(self) -> DetectionReport:
        """COCO numbers, per-class AP and the confusion matrix of everything added so far."""
        k = len(self.class_names)
        precision = np.full((10, 101, k, 4, 3), -1.0)
        recall = np.full((10, k, 4, 3), -1.0)
        stats = [-1.0] * 12
        if self.num_images:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = self._map.compute()
            prefix = "" if self.iou_type == "bbox" else "segm_"
            stats = [float(result[prefix + key]) for key in _TORCHMETRICS_KEYS]
            if prefix + "precision" in result:
                present = result["classes"].reshape(-1).numpy().astype(np.int64)
                precision[:, :, present] = result[prefix + "precision"].numpy()
                recall[:, present] = result[prefix + "recall"].numpy()
        per_class = [
            ClassAP(
                name=name,
                ap=_mean_valid(precision[:, :, c, 0, -1]),
                ap50=_mean_valid(precision[0, :, c, 0, -1]),
                ar100=_mean_valid(recall[:, c, 0, -1]),
                num_gt=int(self.num_gt[c]),
            )
            for c, name in enumerate(self.class_names)
        ]
        return DetectionReport(
            *stats,
            per_class=per_class,
            precision=precision,
            confusion=self.confusion.copy(),
            class_names=self.class_names,
            iou_type=self.iou_type,
            num_images=self.num_images,
        )


def _mean_valid(values: np.ndarray) -> float:
    """COCO's summary mean: over entries ``> -1``, or ``-1`` when there are none."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else -1.0


def evaluate_detections(
    predictions: Sequence[Detections],
    targets: Sequence[GroundTruth],
    class_names: Sequence[str],
    *,
    iou_type: IouType = "bbox",
) -> DetectionReport:
    """COCO metrics of ``predictions`` against ``targets`` in one call (see :class:`DetectionMetrics`)."""
    metrics = DetectionMetrics(class_names, iou_type=iou_type)
    metrics.update(predictions, targets)
    return metrics.compute()
