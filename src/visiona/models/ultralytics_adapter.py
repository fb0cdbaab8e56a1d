"""Duck-typed adapter from an ultralytics ``Results`` object to :class:`Detections`.

visiona never imports ultralytics (AGPL-3.0 stays with the user who installs it): anything shaped
like ``ultralytics.engine.results.Results`` works::

    from ultralytics import YOLO
    from visiona.models.ultralytics_adapter import detections_from_ultralytics

    [result] = YOLO("yolo11n.pt")("bus.jpg")
    detections = detections_from_ultralytics(result)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from visiona.results.detections import Detections


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def _names(names: Mapping[int, str] | Sequence[str], class_ids: np.ndarray) -> tuple[str, ...]:
    if not isinstance(names, Mapping):
        names = dict(enumerate(names))
    count = max([*(int(k) + 1 for k in names), int(class_ids.max()) + 1 if class_ids.size else 0])
    return tuple(str(names.get(i, f"class_{i}")) for i in range(count))


def _masks_to_image(masks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Undo ultralytics' letterbox: ``(N, h, w)`` masks of the network input → ``(N, H, W)`` bool.

    Without ``retina_masks=True`` ultralytics returns masks at the letterboxed input size (the
    image scaled by one gain and padded evenly on both sides); this crops the padding and
    resizes to the original image, as ``ultralytics.utils.ops.scale_image`` does.
    """
    from PIL import Image

    masks = masks > 0.5
    mask_h, mask_w = masks.shape[1:]
    if (mask_h, mask_w) == (height, width):
        return masks
    gain = min(mask_h / height, mask_w / width)
    pad_x, pad_y = (mask_w - width * gain) / 2, (mask_h - height * gain) / 2
    top, left = round(pad_y - 0.1), round(pad_x - 0.1)
    bottom, right = round(mask_h - pad_y + 0.1), round(mask_w - pad_x + 0.1)
    resized = [
        np.asarray(
            Image.fromarray(mask[top:bottom, left:right].astype(np.uint8) * 255).resize(
                (width, height), Image.Resampling.NEAREST
            )
        )
        > 127
        for mask in masks
    ]
    return np.stack(resized) if resized else np.zeros((0, height, width), dtype=bool)


def detections_from_ultralytics(result: Any) -> Detections:
    """Convert one ultralytics ``Results`` (detect, segment or pose) into :class:`Detections`.

    Reads ``result.boxes.xyxy`` ``(N, 4)`` pixels of the original image, ``.conf`` ``(N,)``,
    ``.cls`` ``(N,)`` and ``.id`` (track ids, may be ``None``), ``result.names``
    (``{id: name}``, no background class, so ids carry over unchanged), ``result.orig_shape``
    ``(height, width)``, ``result.path``, and when present ``result.masks.data`` ``(N, h, w)``
    and ``result.keypoints.data`` ``(N, K, 3)`` ``x, y, confidence`` (or ``(N, K, 2)``, given
    visibility 1).

    Args:
        result: An ``ultralytics.engine.results.Results`` or an object shaped like one.

    Returns:
        Detections with boxes in absolute xyxy pixels of the original image, masks as
        ``(N, H, W)`` bool at image size.

    Raises:
        ValueError: ``result`` holds no axis-aligned boxes (classification or OBB results).
    """
    boxes = getattr(result, "boxes", None)
    if boxes is None:
        kind = "oriented boxes" if getattr(result, "obb", None) is not None else "no boxes"
        raise ValueError(f"ultralytics result has {kind}; only detect/segment/pose convert")
    xyxy = _numpy(boxes.xyxy).astype(np.float32).reshape(-1, 4)
    class_ids = _numpy(boxes.cls).astype(np.int64).reshape(-1)
    track_ids = getattr(boxes, "id", None)
    orig_shape = getattr(result, "orig_shape", None)
    height, width = (int(orig_shape[0]), int(orig_shape[1])) if orig_shape is not None else (0, 0)
    masks = None
    if getattr(result, "masks", None) is not None:
        data = _numpy(result.masks.data).astype(np.float32)
        masks = _masks_to_image(data, width, height) if orig_shape is not None else data > 0.5
    keypoints = None
    columns = ("x", "y", "score")  # ultralytics' third value is the point's confidence
    if getattr(result, "keypoints", None) is not None:
        points = _numpy(result.keypoints.data).astype(np.float32)
        if points.ndim == 3 and points.shape[2] == 2:
            points = np.concatenate([points, np.ones_like(points[..., :1])], axis=2)
            columns = ("x", "y", "visibility")
        keypoints = points.reshape(len(xyxy), -1, 3) if points.size else None
    path = getattr(result, "path", None)
    return Detections(
        xyxy=xyxy,
        scores=_numpy(boxes.conf).astype(np.float32).reshape(-1),
        class_ids=class_ids,
        names=_names(getattr(result, "names", None) or {}, class_ids),
        masks=masks,
        keypoints=keypoints,
        track_ids=_numpy(track_ids).astype(np.int64).reshape(-1) if track_ids is not None else None,
        source=str(path) if path else None,
        image_size=(width, height) if orig_shape is not None else None,
        keypoint_columns=columns,
    )
