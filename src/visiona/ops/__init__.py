"""Box utilities (IoU, NMS, format conversion) over numpy arrays or torch tensors.

Thin wrappers of ``torchvision.ops``; torch is imported when a function is first called.
"""

from visiona.ops.boxes import (
    BOX_FORMATS,
    BoxFormat,
    batched_nms,
    box_area,
    box_iou,
    clip_boxes,
    convert_boxes,
    denormalize_boxes,
    nms,
    normalize_boxes,
)

__all__ = [
    "BOX_FORMATS",
    "BoxFormat",
    "batched_nms",
    "box_area",
    "box_iou",
    "clip_boxes",
    "convert_boxes",
    "denormalize_boxes",
    "nms",
    "normalize_boxes",
]
