"""Run an ONNX file exported by ultralytics (``yolo export format=onnx``) as a visiona detector.

visiona never imports ultralytics (AGPL-3.0): it reads the metadata ultralytics writes into the
file (``names``, ``imgsz``, ``stride``, ``task``, ``end2end``) and reproduces its pre- and
postprocessing here:

* letterbox: scale the image to fit ``imgsz`` keeping its aspect ratio (bilinear, like OpenCV's
  ``INTER_LINEAR``), pad with grey 114 centred, scale to [0, 1];
* decode ``(1, 4 + C, A)`` outputs (``cx, cy, w, h`` in input pixels, then per-class scores), or
  ``(1, K, 6)`` ``x0, y0, x1, y1, score, class`` for end-to-end models; keep candidates scoring at
  least :data:`CANDIDATE_CONF`, class-aware NMS at :data:`CANDIDATE_IOU` (ultralytics' default),
  and map boxes back to the original image.

The result is the torchvision detector convention (``boxes``, ``labels`` = class + 1,
``scores``), so :class:`visiona.tasks.detect.DetectTask` applies ``--conf``, ``--iou``,
``--classes`` and ``--max-det`` exactly as for any other detector.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError, WeightsError
from visiona.weights.record import Preprocessing, Weights

if TYPE_CHECKING:
    import torch

    from visiona.models.onnx.format import OnnxModel

KIND = "ultralytics-yolo"
PAD_VALUE = 114
CANDIDATE_CONF = 0.01
"""Candidates below this never leave the backend (like a torchvision detector's score_thresh)."""
CANDIDATE_IOU = 0.7
MAX_CANDIDATES = 300


def is_ultralytics(meta: Mapping[str, str]) -> bool:
    """Whether ONNX metadata looks like an ultralytics export."""
    return meta.get("author", "").startswith("Ultralytics") and "names" in meta


def read_ultralytics(path: Path, data: bytes, meta: Mapping[str, str]) -> OnnxModel:
    """An :class:`OnnxModel` with a Weights record rebuilt from ultralytics' metadata.

    Raises:
        UsageError: The model is not a detector (segment/pose/classify exports).
        WeightsError: The metadata cannot be parsed.
    """
    from visiona.models.onnx.format import OnnxModel

    task = meta.get("task", "detect")
    if task != "detect":
        raise UsageError(
            f"{path}: an ultralytics {task!r} model; visiona runs their detectors only"
        )
    try:
        names = ast.literal_eval(meta["names"])  # a dict literal: literal_eval runs no code
        size = ast.literal_eval(meta.get("imgsz", "[640, 640]"))
        end2end = meta.get("end2end", "False") == "True"
    except (ValueError, SyntaxError, KeyError) as error:
        raise WeightsError(f"{path}: unreadable ultralytics metadata ({error})") from None
    size = (size, size) if isinstance(size, int) else tuple(size)
    class_names = tuple(str(names[i]) for i in sorted(names))
    record = Weights(
        model=f"ultralytics:{path.stem}",
        tag="onnx",
        task="detect",
        preprocessing=Preprocessing(
            input_size=(int(size[0]), int(size[1])),
            resize="none",  # the backend letterboxes, as torchvision detectors resize inside
            resize_size=None,
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
        ),
        class_names=class_names,
        license=meta.get("license", "AGPL-3.0"),
        description=meta.get("description", "ultralytics ONNX export"),
    )
    return OnnxModel(
        model_bytes=data,
        weights=record,
        architecture=record.model,
        batched=False,
        outputs=("boxes", "labels", "scores"),
        path=path,
        kind=KIND,
        options={"end2end": end2end},
    )


def letterbox(image: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, float, int, int]:
    """``(3, H, W)`` uint8 → ``(1, 3, h, w)`` float32 in [0, 1], scale, left and top padding."""
    import torch
    from torchvision.transforms.v2 import functional as F

    height, width = image.shape[-2:]
    target_h, target_w = size
    scale = min(target_h / height, target_w / width)
    new_h, new_w = round(height * scale), round(width * scale)
    if (new_h, new_w) != (height, width):
        image = F.resize(image, [new_h, new_w], antialias=False)
    top = round((target_h - new_h) / 2 - 0.1)
    left = round((target_w - new_w) / 2 - 0.1)
    canvas = torch.full((3, target_h, target_w), PAD_VALUE, dtype=torch.uint8)
    canvas[:, top : top + new_h, left : left + new_w] = image
    return canvas[None].to(torch.float32).div_(255.0), scale, left, top


def decode(
    output: np.ndarray,
    end2end: bool,
    scale: float,
    left: int,
    top: int,
    image_size: tuple[int, int],
) -> dict[str, torch.Tensor]:
    """Raw YOLO output for one image → torchvision-style detections in image pixels.

    Args:
        output: ``(1, 4 + C, A)`` (or ``(1, K, 6)`` when ``end2end``).
        end2end: The model already did NMS.
        scale, left, top: From :func:`letterbox`.
        image_size: ``(height, width)`` of the original image.
    """
    import torch
    from torchvision.ops import batched_nms

    if end2end:
        rows = output[0]
        boxes, scores, classes = rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64)
        keep = scores >= CANDIDATE_CONF
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    else:
        predictions = output[0].T  # (A, 4 + C)
        class_scores = predictions[:, 4:]
        classes = class_scores.argmax(1)
        scores = class_scores[np.arange(len(classes)), classes]
        keep = scores >= CANDIDATE_CONF
        centre = predictions[keep, :4]
        scores, classes = scores[keep], classes[keep]
        half = centre[:, 2:] / 2
        boxes = np.concatenate([centre[:, :2] - half, centre[:, :2] + half], axis=1)
    boxes_t = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32))
    scores_t = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))
    classes_t = torch.from_numpy(np.ascontiguousarray(classes, dtype=np.int64))
    if not end2end and len(boxes_t):
        order = batched_nms(boxes_t, scores_t, classes_t, CANDIDATE_IOU)[:MAX_CANDIDATES]
        boxes_t, scores_t, classes_t = boxes_t[order], scores_t[order], classes_t[order]
    height, width = image_size
    boxes_t = (boxes_t - torch.tensor([left, top, left, top], dtype=torch.float32)) / scale
    boxes_t[:, 0::2] = boxes_t[:, 0::2].clamp(0, width)
    boxes_t[:, 1::2] = boxes_t[:, 1::2].clamp(0, height)
    return {"boxes": boxes_t, "labels": classes_t + 1, "scores": scores_t}


def run_yolo(session: Any, graph: OnnxModel, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """One ``(3, H, W)`` uint8 image through an ultralytics ONNX session."""
    size = graph.weights.preprocessing.input_size
    batch, scale, left, top = letterbox(image, size)
    input_name = session.get_inputs()[0].name
    (output,) = session.run(None, {input_name: batch.numpy()})[:1]
    end2end = bool(graph.options.get("end2end"))
    return decode(output, end2end, scale, left, top, tuple(image.shape[-2:]))
