"""Matching detections to ground truth for the detection confusion matrix.

IoUs follow COCO's definitions (pycocotools ``maskUtils.iou``): boxes are compared as ``xywh``
rectangles, masks as RLEs, and against a crowd region the overlap is intersection over the
*detection's* area, so a detection inside a crowd counts as covered by it.

The confusion matrix has ``K + 1`` rows and columns for ``K`` classes. Rows are true classes, columns
predicted classes, and index ``K`` is "background": ``matrix[K, j]`` counts false positives of
class ``j`` (predictions matching no object), ``matrix[i, K]`` counts missed objects of class
``i``. Crowd objects are never counted as missed, and predictions covered by a crowd region are
ignored, as in COCO.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def rle_encode(masks: np.ndarray) -> list[dict[str, Any]]:
    """COCO compressed RLEs of ``(N, H, W)`` boolean masks (pycocotools ``encode``)."""
    from pycocotools import mask as mask_utils

    if len(masks) == 0:
        return []
    # One copy into (H, W, N) Fortran order; bool and uint8 share their bytes.
    stacked = np.asfortranarray(np.transpose(np.asarray(masks, dtype=bool), (1, 2, 0)))
    return list(mask_utils.encode(stacked.view(np.uint8)))


def coco_ious(
    detections: np.ndarray | list[dict[str, Any]],
    objects: np.ndarray | list[dict[str, Any]],
    iscrowd: np.ndarray,
) -> np.ndarray:
    """COCO IoU of every detection with every object.

    Args:
        detections: ``(N, 4)`` xyxy boxes, or ``N`` RLEs.
        objects: ``(M, 4)`` xyxy boxes, or ``M`` RLEs (same kind as ``detections``).
        iscrowd: ``(M,)`` bool; crowd objects use intersection over the detection's area.

    Returns:
        ``(N, M)`` float64 overlaps in ``[0, 1]``.
    """
    from pycocotools import mask as mask_utils

    if len(detections) == 0 or len(objects) == 0:
        return np.zeros((len(detections), len(objects)), dtype=np.float64)
    if isinstance(detections, np.ndarray):
        detections = _xywh(detections)
        objects = _xywh(np.asarray(objects))
    crowd = [int(c) for c in np.asarray(iscrowd, dtype=bool)]
    return np.asarray(mask_utils.iou(detections, objects, crowd), dtype=np.float64)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def confusion_counts(
    ious: np.ndarray,
    scores: np.ndarray,
    pred_classes: np.ndarray,
    true_classes: np.ndarray,
    iscrowd: np.ndarray,
    num_classes: int,
    *,
    iou_threshold: float,
    score_threshold: float,
) -> np.ndarray:
    """Detection confusion matrix of one image.

    Predictions with ``score >= score_threshold`` are taken best score first; each takes the
    still unmatched non-crowd object (of any class) it overlaps most, if that IoU is at least
    ``iou_threshold``. A prediction left without an object is ignored when it overlaps a crowd
    region by ``iou_threshold`` (intersection over its area), else it is a false positive.

    Args:
        ious: ``(N, M)`` overlaps of the predictions with the objects (see :func:`coco_ious`).
        scores: ``(N,)`` prediction confidences.
        pred_classes: ``(N,)`` predicted class ids in ``[0, K)``.
        true_classes: ``(M,)`` object class ids in ``[0, K)``.
        iscrowd: ``(M,)`` bool crowd flags.
        num_classes: ``K``.
        iou_threshold: Minimum IoU of a match.
        score_threshold: Minimum confidence of a prediction to be counted at all.

    Returns:
        ``(K + 1, K + 1)`` int64 counts (rows true, columns predicted, index ``K`` background).
    """
    k = num_classes
    matrix = np.zeros((k + 1, k + 1), dtype=np.int64)
    crowd = np.asarray(iscrowd, dtype=bool)
    keep = np.flatnonzero(np.asarray(scores) >= score_threshold)
    order = keep[np.argsort(-np.asarray(scores)[keep], kind="stable")]
    matched = crowd.copy()  # crowd objects can never be matched (nor missed)
    for p in order:
        row = np.where(matched, -1.0, ious[p]) if ious.shape[1] else ious[p]
        best = int(np.argmax(row)) if row.size else -1
        if best >= 0 and row[best] >= iou_threshold:
            matched[best] = True
            matrix[true_classes[best], pred_classes[p]] += 1
        elif not (crowd.any() and ious[p][crowd].max() >= iou_threshold):
            matrix[k, pred_classes[p]] += 1
    for m in np.flatnonzero(~matched):
        matrix[true_classes[m], k] += 1
    return matrix
