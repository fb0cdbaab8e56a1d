"""Object detection, instance segmentation and keypoints: detector outputs → Detections.

The raw outputs are torchvision's: one dict per image with ``boxes`` ``(N, 4)`` xyxy pixels of the
network's input image, ``labels`` ``(N,)`` int64 with 0 reserved for the background (so object
class ``i`` of the model's record is label ``i + 1``), ``scores`` ``(N,)`` and optionally
``masks`` ``(N, 1, H, W)`` probabilities and ``keypoints`` ``(N, K, 3)`` ``x, y, visibility``.
Results use visiona's class ids (background excluded) and the original image's pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona import defaults
from visiona.errors import UsageError
from visiona.registry import close_matches
from visiona.results.detections import Detections
from visiona.tasks.base import ImageMeta, Task

if TYPE_CHECKING:
    import torch

    from visiona.weights.record import Weights

DEFAULT_CONF = defaults.DETECT_CONF
DEFAULT_IOU = defaults.DETECT_IOU
DEFAULT_MAX_DET = defaults.DETECT_MAX_DET
DEFAULT_MASK_THRESHOLD = defaults.MASK_THRESHOLD
BACKGROUND_LABELS = 1
"""torchvision labels below this are background; object class id = label - BACKGROUND_LABELS."""

ClassFilter = str | int | Iterable[str | int] | None


def parse_classes(classes: ClassFilter, names: Sequence[str]) -> np.ndarray | None:
    """Class ids selected by ``classes``: ids, names, or a comma-separated mix (``"0,car"``).

    Args:
        classes: ``None`` (all classes), an id, a name, a comma-separated string, or a sequence
            of ids and names. A digit string is an id unless a class is named exactly that.
        names: The model's class names, id → label (background excluded).

    Returns:
        Sorted unique ``(M,)`` int64 ids, or ``None`` for all classes.

    Raises:
        UsageError: An id out of range or a name the model does not know (with close matches).
    """
    if classes is None:
        return None
    if isinstance(classes, str):
        items: list[str | int] = [part.strip() for part in classes.split(",") if part.strip()]
    elif isinstance(classes, int | np.integer):
        items = [int(classes)]
    else:
        items = [c.strip() if isinstance(c, str) else c for c in classes]
    if not items:
        raise UsageError("--classes is empty; give class ids or names, e.g. 0,2 or person,car")
    by_name: dict[str, list[int]] = {}
    by_lower: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        by_name.setdefault(name, []).append(index)
        by_lower.setdefault(name.lower(), []).append(index)
    ids: set[int] = set()
    for item in items:
        if isinstance(item, str) and item in by_name:
            ids.update(by_name[item])
        elif isinstance(item, str) and not item.isdigit():
            if item.lower() in by_lower:
                ids.update(by_lower[item.lower()])
                continue
            suggestions = close_matches(item, names)
            hint = (
                "did you mean " + ", ".join(map(repr, suggestions)) + "?" if suggestions else None
            )
            raise UsageError(f"the model has no class named {item!r}", hint=hint)
        else:
            index = int(item)
            if not 0 <= index < len(names):
                raise UsageError(
                    f"class id {index} is out of range; the model has ids 0-{len(names) - 1}"
                )
            ids.add(index)
    return np.array(sorted(ids), dtype=np.int64)


def _check_options(conf: float, iou: float, max_det: int, mask_threshold: float) -> None:
    if not 0 <= conf <= 1:
        raise UsageError(f"conf must be in [0, 1], got {conf}")
    if not 0 <= iou <= 1:
        raise UsageError(f"iou must be in [0, 1], got {iou}")
    if isinstance(max_det, bool) or not isinstance(max_det, int | np.integer) or max_det < 1:
        raise UsageError(f"max_det must be a positive integer, got {max_det!r}")
    if not 0 <= mask_threshold <= 1:
        raise UsageError(f"mask_threshold must be in [0, 1], got {mask_threshold}")


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class DetectTask(Task):
    """Objects as boxes with class and score (plus instance masks and keypoints when the model
    predicts them).

    Postprocessing options:
        conf: Keep detections scoring at least this (default 0.25). The network has its own,
            lower threshold (e.g. 0.05 for Faster R-CNN), applied before this one.
        iou: Class-aware NMS IoU threshold applied on top of the network's own NMS (default
            0.7); ``1.0`` switches it off.
        classes: Keep only these classes (ids, names, or ``"0,car"``); default all.
        max_det: At most this many detections per image, best first (default 100).
        mask_threshold: Mask probability above which a pixel belongs to the object (0.5).
    """

    name = "detect"
    result_type = Detections
    batched_input = False

    def check_options(
        self,
        weights: Weights,
        *,
        conf: float = DEFAULT_CONF,
        iou: float = DEFAULT_IOU,
        classes: ClassFilter = None,
        max_det: int = DEFAULT_MAX_DET,
        mask_threshold: float = DEFAULT_MASK_THRESHOLD,
        **options: Any,
    ) -> None:
        """Refuse unknown options, thresholds outside [0, 1] and classes the model lacks."""
        if options:
            raise UsageError(f"{self.name} does not take option(s): {', '.join(sorted(options))}")
        _check_options(conf, iou, max_det, mask_threshold)
        parse_classes(classes, weights.class_names)

    def postprocess(
        self,
        outputs: Sequence[Mapping[str, torch.Tensor]],
        metas: Sequence[ImageMeta],
        weights: Weights,
        *,
        conf: float = DEFAULT_CONF,
        iou: float = DEFAULT_IOU,
        classes: ClassFilter = None,
        max_det: int = DEFAULT_MAX_DET,
        mask_threshold: float = DEFAULT_MASK_THRESHOLD,
        **options: Any,
    ) -> list[Detections]:
        """One torchvision output dict per image → one :class:`Detections` per image.

        Boxes, masks and keypoints are mapped from the network input (the image, or its ROI)
        back to the original image's pixels; masks become ``(N, H, W)`` bool at image size.
        """
        if options:
            raise UsageError(f"{self.name} does not take option(s): {', '.join(sorted(options))}")
        _check_options(conf, iou, max_det, mask_threshold)
        names = weights.class_names
        keep_ids = parse_classes(classes, names)
        return [
            self._one(output, meta, names, conf, iou, keep_ids, int(max_det), mask_threshold)
            for output, meta in zip(outputs, metas, strict=True)
        ]

    def _one(
        self,
        output: Mapping[str, Any],
        meta: ImageMeta,
        names: Sequence[str],
        conf: float,
        iou: float,
        keep_ids: np.ndarray | None,
        max_det: int,
        mask_threshold: float,
    ) -> Detections:
        from visiona.ops.boxes import batched_nms

        boxes = _numpy(output["boxes"]).astype(np.float32).reshape(-1, 4)
        scores = _numpy(output["scores"]).astype(np.float32).reshape(-1)
        class_ids = _numpy(output["labels"]).astype(np.int64).reshape(-1) - BACKGROUND_LABELS
        if class_ids.size and class_ids.max() >= len(names):
            raise ValueError(
                f"model outputs class id {class_ids.max()} but its record names {len(names)} "
                "classes (torchvision detectors count the background as label 0)"
            )
        keep = (scores >= conf) & (class_ids >= 0)
        if keep_ids is not None:
            keep &= np.isin(class_ids, keep_ids)
        index = np.flatnonzero(keep)
        if iou < 1 and index.size > 1:
            index = index[batched_nms(boxes[index], scores[index], class_ids[index], iou)]
        # Best first; a stable sort keeps the network's order among equal scores.
        index = index[np.argsort(-scores[index], kind="stable")][:max_det]
        x0, y0 = (meta.roi[0], meta.roi[1]) if meta.roi else (0, 0)
        boxes = boxes[index] + np.array([x0, y0, x0, y0], dtype=np.float32)
        masks = keypoints = None
        if "masks" in output:
            masks = self._masks(_numpy(output["masks"])[index], meta, mask_threshold)
        if "keypoints" in output:
            keypoints = _numpy(output["keypoints"]).astype(np.float32)[index]
            keypoints[..., 0] += x0
            keypoints[..., 1] += y0
        return Detections(
            xyxy=boxes,
            scores=scores[index],
            class_ids=class_ids[index],
            names=tuple(names),
            masks=masks,
            keypoints=keypoints,
            source=meta.source,
            image_size=meta.size,
        )

    @staticmethod
    def _masks(probabilities: np.ndarray, meta: ImageMeta, threshold: float) -> np.ndarray:
        """``(N, 1, h, w)`` probabilities of the network input → ``(N, H, W)`` bool of the image."""
        masks = probabilities.reshape(len(probabilities), *probabilities.shape[-2:]) > threshold
        width, height = meta.size
        if meta.roi is None and masks.shape[1:] == (height, width):
            return masks
        full = np.zeros((len(masks), height, width), dtype=bool)
        x0, y0 = (meta.roi[0], meta.roi[1]) if meta.roi else (0, 0)
        h = min(masks.shape[1], height - y0)
        w = min(masks.shape[2], width - x0)
        full[:, y0 : y0 + h, x0 : x0 + w] = masks[:, :h, :w]
        return full


class InstanceSegmentTask(DetectTask):
    """Instance segmentation: detections with a ``(H, W)`` bool mask each (Mask R-CNN)."""

    name = "segment-instances"


class KeypointTask(DetectTask):
    """Keypoint detection: detections with ``(K, 3)`` keypoints each (Keypoint R-CNN)."""

    name = "keypoints"
