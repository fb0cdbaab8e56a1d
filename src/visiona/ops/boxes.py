"""Box utilities for users: thin wrappers of ``torchvision.ops`` that accept numpy or torch.

Every function returns the kind it was given: numpy arrays (or lists) in → numpy out, tensors in →
tensors out (same device). Boxes are ``(N, 4)`` arrays; unless a function says otherwise they are
absolute-pixel ``xyxy`` (``x0, y0, x1, y1`` with ``x1 >= x0``, ``y1 >= y0``). Box formats:

- ``"xyxy"``: top-left and bottom-right corners.
- ``"xywh"``: top-left corner, width, height (COCO).
- ``"cxcywh"``: centre, width, height (YOLO, usually normalised to [0, 1]).

Integer inputs are computed in float32; float inputs keep their precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import numpy as np

if TYPE_CHECKING:
    import torch

BoxFormat = Literal["xyxy", "xywh", "cxcywh"]
BOX_FORMATS: tuple[str, ...] = get_args(BoxFormat)

ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")


def _as_tensor(values: Any, what: str, columns: int | None = None) -> tuple[torch.Tensor, bool]:
    """``values`` as a float tensor (and whether the caller gave numpy), shape-checked."""
    import torch

    is_numpy = not isinstance(values, torch.Tensor)
    # A copy: torch refuses to share read-only numpy buffers, and callers' arrays stay untouched.
    tensor = torch.from_numpy(np.array(values)) if is_numpy else values
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    if columns is not None:
        if tensor.numel() == 0:
            tensor = tensor.reshape(0, columns)
        if tensor.ndim != 2 or tensor.shape[1] != columns:
            raise ValueError(f"{what} must be (N, {columns}), got {tuple(tensor.shape)}")
    elif tensor.ndim != 1:
        raise ValueError(f"{what} must be (N,), got {tuple(tensor.shape)}")
    return tensor, is_numpy


def _give_back(tensor: torch.Tensor, is_numpy: bool) -> Any:
    return tensor.detach().cpu().numpy() if is_numpy else tensor


def _check_format(fmt: str) -> None:
    if fmt not in BOX_FORMATS:
        raise ValueError(f"unknown box format {fmt!r}; known: {', '.join(BOX_FORMATS)}")


def box_area(boxes: ArrayT) -> ArrayT:
    """Areas of boxes.

    Args:
        boxes: ``(N, 4)`` xyxy boxes.

    Returns:
        ``(N,)`` areas, ``(x1 - x0) * (y1 - y0)``.
    """
    from torchvision.ops import box_area as tv_box_area

    tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    return _give_back(tv_box_area(tensor), is_numpy)


def box_iou(boxes1: ArrayT, boxes2: ArrayT) -> ArrayT:
    """Pairwise intersection over union.

    Args:
        boxes1: ``(N, 4)`` xyxy boxes.
        boxes2: ``(M, 4)`` xyxy boxes.

    Returns:
        ``(N, M)`` IoU of every pair, in [0, 1].
    """
    from torchvision.ops import box_iou as tv_box_iou

    first, is_numpy = _as_tensor(boxes1, "boxes1", 4)
    second, _ = _as_tensor(boxes2, "boxes2", 4)
    dtype = first.dtype if first.dtype.itemsize >= second.dtype.itemsize else second.dtype
    return _give_back(
        tv_box_iou(first.to(dtype), second.to(device=first.device, dtype=dtype)), is_numpy
    )


def nms(boxes: ArrayT, scores: ArrayT, iou_threshold: float) -> ArrayT:
    """Non-maximum suppression over all boxes (class-agnostic).

    Args:
        boxes: ``(N, 4)`` xyxy boxes.
        scores: ``(N,)`` scores.
        iou_threshold: A box is dropped when its IoU with a higher-scoring kept box is above this.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by decreasing score.
    """
    from torchvision.ops import nms as tv_nms

    box_tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    score_tensor = _matching_scores(scores, box_tensor)
    return _give_back(tv_nms(box_tensor, score_tensor, float(iou_threshold)), is_numpy)


def batched_nms(boxes: ArrayT, scores: ArrayT, class_ids: ArrayT, iou_threshold: float) -> ArrayT:
    """Class-aware non-maximum suppression: boxes of different classes never suppress each other.

    Args:
        boxes: ``(N, 4)`` xyxy boxes.
        scores: ``(N,)`` scores.
        class_ids: ``(N,)`` integer class of each box.
        iou_threshold: A box is dropped when its IoU with a higher-scoring kept box of the same
            class is above this.

    Returns:
        ``(K,)`` int64 indices of the kept boxes, by decreasing score.
    """
    import torch
    from torchvision.ops import batched_nms as tv_batched_nms

    box_tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    score_tensor = _matching_scores(scores, box_tensor)
    ids = (
        class_ids if isinstance(class_ids, torch.Tensor) else torch.from_numpy(np.array(class_ids))
    )
    ids = ids.reshape(-1).to(device=box_tensor.device, dtype=torch.int64)
    if len(ids) != len(box_tensor):
        raise ValueError(f"class_ids has {len(ids)} entries for {len(box_tensor)} boxes")
    kept = tv_batched_nms(box_tensor, score_tensor, ids, float(iou_threshold))
    return _give_back(kept, is_numpy)


def _matching_scores(scores: Any, boxes: torch.Tensor) -> torch.Tensor:
    tensor, _ = _as_tensor(scores, "scores")
    if len(tensor) != len(boxes):
        raise ValueError(f"scores has {len(tensor)} entries for {len(boxes)} boxes")
    return tensor.to(device=boxes.device, dtype=boxes.dtype)


def convert_boxes(boxes: ArrayT, in_fmt: BoxFormat, out_fmt: BoxFormat) -> ArrayT:
    """Convert boxes between ``xyxy``, ``xywh`` and ``cxcywh``.

    Works for absolute pixels and for normalised coordinates alike.

    Args:
        boxes: ``(N, 4)`` boxes in ``in_fmt``.
        in_fmt: Format of ``boxes``.
        out_fmt: Wanted format.

    Returns:
        ``(N, 4)`` boxes in ``out_fmt``.
    """
    from torchvision.ops import box_convert

    _check_format(in_fmt)
    _check_format(out_fmt)
    tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    return _give_back(box_convert(tensor, in_fmt, out_fmt), is_numpy)


def _scale(boxes: Any, width: float, height: float, op: Callable[[Any, Any], Any]) -> Any:
    import torch

    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    factors = torch.tensor([width, height, width, height], dtype=tensor.dtype, device=tensor.device)
    return _give_back(op(tensor, factors), is_numpy)


def normalize_boxes(boxes: ArrayT, width: float, height: float) -> ArrayT:
    """Absolute pixels → fractions of the image size (any of the three formats).

    Args:
        boxes: ``(N, 4)`` boxes in pixels, ``xyxy``, ``xywh`` or ``cxcywh``.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``(N, 4)`` boxes in the same format, x values divided by ``width``, y by ``height``.
    """
    return _scale(boxes, width, height, lambda tensor, factors: tensor / factors)


def denormalize_boxes(boxes: ArrayT, width: float, height: float) -> ArrayT:
    """Fractions of the image size → absolute pixels; inverse of :func:`normalize_boxes`.

    Args:
        boxes: ``(N, 4)`` normalised boxes, ``xyxy``, ``xywh`` or ``cxcywh``.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``(N, 4)`` boxes in the same format, in pixels.
    """
    return _scale(boxes, width, height, lambda tensor, factors: tensor * factors)


def clip_boxes(boxes: ArrayT, width: float, height: float) -> ArrayT:
    """Clip boxes to the image: x into ``[0, width]``, y into ``[0, height]``.

    Args:
        boxes: ``(N, 4)`` xyxy boxes in pixels.
        width: Image width in pixels.
        height: Image height in pixels.

    Returns:
        ``(N, 4)`` clipped xyxy boxes (a box wholly outside becomes degenerate, zero area).
    """
    from torchvision.ops import clip_boxes_to_image

    tensor, is_numpy = _as_tensor(boxes, "boxes", 4)
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}×{height}")
    # torchvision takes (height, width) and clamps a copy.
    return _give_back(clip_boxes_to_image(tensor, (height, width)), is_numpy)
