"""Semantic segmentation metrics from one confusion matrix (torchmetrics).

The pixel confusion matrix (rows: true class, columns: predicted; ignored pixels left out) is
accumulated with torchmetrics' ``MulticlassConfusionMatrix``; IoU (Jaccard), Dice (F1) and pixel
accuracy follow from it exactly as torchmetrics' ``MulticlassJaccardIndex``/``F1Score`` compute
them. mIoU and mean Dice average over classes that occur (in the truth or the prediction);
a class absent from both has no IoU (``None``), as in torchmetrics with ``zero_division``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from visiona.results.segmentation import IGNORE_INDEX


@dataclass(frozen=True)
class SegmentationReport:
    """Scores over a set of images."""

    class_names: tuple[str, ...]
    confusion: np.ndarray  # (C, C) int64 pixel counts, rows = truth
    iou: tuple[float | None, ...]
    dice: tuple[float | None, ...]
    miou: float
    mean_dice: float
    pixel_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "miou": round(self.miou, 6),
            "mean_dice": round(self.mean_dice, 6),
            "pixel_accuracy": round(self.pixel_accuracy, 6),
            "per_class": {
                name: {
                    "iou": None if iou is None else round(iou, 6),
                    "dice": None if dice is None else round(dice, 6),
                    "pixels": int(self.confusion[i].sum()),
                }
                for i, (name, iou, dice) in enumerate(
                    zip(self.class_names, self.iou, self.dice, strict=True)
                )
            },
            "confusion_matrix": self.confusion.tolist(),
        }


def scores_from_confusion(confusion: np.ndarray, class_names: Sequence[str]) -> SegmentationReport:
    confusion = np.asarray(confusion, np.int64)
    tp = np.diag(confusion).astype(np.float64)
    truth, predicted = confusion.sum(1), confusion.sum(0)
    union = truth + predicted - tp
    occurs = union > 0
    iou = np.where(occurs, tp / np.maximum(union, 1), np.nan)
    dice = np.where(occurs, 2 * tp / np.maximum(truth + predicted, 1), np.nan)
    total = confusion.sum()
    return SegmentationReport(
        class_names=tuple(class_names),
        confusion=confusion,
        iou=tuple(None if np.isnan(v) else float(v) for v in iou),
        dice=tuple(None if np.isnan(v) else float(v) for v in dice),
        miou=float(np.nanmean(iou)) if occurs.any() else 0.0,
        mean_dice=float(np.nanmean(dice)) if occurs.any() else 0.0,
        pixel_accuracy=float(tp.sum() / total) if total else 0.0,
    )


class SegmentationMetrics:
    """Accumulates a pixel confusion matrix over images; :meth:`compute` scores it."""

    def __init__(self, class_names: Sequence[str], ignore_index: int = IGNORE_INDEX) -> None:
        from torchmetrics.classification import MulticlassConfusionMatrix

        self.class_names = tuple(class_names)
        self.matrix = MulticlassConfusionMatrix(len(class_names), ignore_index=ignore_index)

    def update(self, predicted: Any, truth: Any) -> None:
        """``(H, W)`` (or ``(N, H, W)``) predicted and true class ids."""
        import torch

        def flat(values: Any) -> torch.Tensor:
            if not isinstance(values, torch.Tensor):
                values = torch.from_numpy(np.array(values))  # a copy: inputs may be read-only
            return values.long().reshape(-1)

        predicted, truth = flat(predicted), flat(truth)
        self.matrix.update(predicted, truth)

    def compute(self) -> SegmentationReport:
        return scores_from_confusion(self.matrix.compute().cpu().numpy(), self.class_names)

    def reset(self) -> None:
        self.matrix.reset()


def image_iou(predicted: np.ndarray, truth: np.ndarray, num_classes: int) -> float:
    """mIoU of one image (classes occurring in it), for ranking the worst images."""
    valid = truth != IGNORE_INDEX
    p, t = predicted[valid].astype(np.int64), truth[valid].astype(np.int64)
    confusion = np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )
    return scores_from_confusion(confusion, [str(i) for i in range(num_classes)]).miou
