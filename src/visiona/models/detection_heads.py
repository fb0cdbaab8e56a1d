"""New class heads on trained torchvision detectors, for transfer learning to other classes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from visiona.errors import UsageError

if TYPE_CHECKING:
    from torch import nn

_PRIOR_PROBABILITY = 0.01  # RetinaNet/FCOS: start every class at p = 0.01 (focal loss paper)


def replace_detection_head(
    model: nn.Module, num_classes: int, *, num_keypoints: int | None = None
) -> nn.Module:
    """Give a torchvision detector new, randomly initialised class outputs, in place.

    Only the last class-dependent layers are replaced; the backbone, FPN, RPN and the shared
    convolution towers keep their (pretrained) weights:

    - Faster/Mask/Keypoint R-CNN: the box predictor (class scores and per-class box deltas) and,
      for Mask R-CNN, the final mask logits layer; Keypoint R-CNN's keypoint predictor only when
      ``num_keypoints`` changes it.
    - RetinaNet, FCOS: the classification head's final ``cls_logits`` convolution.
    - SSD300, SSDlite: the final convolution of each classification head branch.

    Args:
        model: A torchvision detector (``FasterRCNN``, ``MaskRCNN``, ``KeypointRCNN``,
            ``RetinaNet``, ``FCOS`` or ``SSD``), e.g. one loaded with COCO weights.
        num_classes: Object classes of the new task, background excluded (visiona's
            convention: the head gets ``num_classes + 1`` outputs, output 0 being background).
        num_keypoints: Keypoint R-CNN only: a new number of keypoints per object.

    Returns:
        ``model`` itself, modified.

    Raises:
        UsageError: ``num_classes < 1``, or ``model`` is not a supported detector.
    """
    import torch
    from torch import nn
    from torchvision.models.detection import FCOS, FasterRCNN, KeypointRCNN, RetinaNet
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    from torchvision.models.detection.keypoint_rcnn import KeypointRCNNPredictor
    from torchvision.models.detection.ssd import SSD

    if num_classes < 1:
        raise UsageError(f"a detector needs at least one object class, got {num_classes}")
    if num_keypoints is not None and not isinstance(model, KeypointRCNN):
        raise UsageError("num_keypoints applies to Keypoint R-CNN only")
    outputs = num_classes + 1
    if isinstance(model, FasterRCNN):  # Mask and Keypoint R-CNN are Faster R-CNNs too
        heads = model.roi_heads
        heads.box_predictor = FastRCNNPredictor(heads.box_predictor.cls_score.in_features, outputs)
        if heads.mask_predictor is not None:
            old = heads.mask_predictor.mask_fcn_logits
            logits = nn.Conv2d(old.in_channels, outputs, kernel_size=1)
            nn.init.kaiming_normal_(logits.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(logits.bias)
            heads.mask_predictor.mask_fcn_logits = logits
        if num_keypoints is not None:
            in_channels = heads.keypoint_predictor.kps_score_lowres.in_channels
            heads.keypoint_predictor = KeypointRCNNPredictor(in_channels, num_keypoints)
    elif isinstance(model, RetinaNet | FCOS):
        head = model.head.classification_head
        old = head.cls_logits
        logits = nn.Conv2d(old.in_channels, head.num_anchors * outputs, 3, padding=1)
        nn.init.normal_(logits.weight, std=0.01)
        nn.init.constant_(logits.bias, -math.log((1 - _PRIOR_PROBABILITY) / _PRIOR_PROBABILITY))
        head.cls_logits = logits
        head.num_classes = outputs
    elif isinstance(model, SSD):
        head = model.head.classification_head
        for index, branch in enumerate(head.module_list):
            # SSD300 branches are one conv; SSDlite's are a depthwise block then a 1x1 conv.
            old = branch if isinstance(branch, nn.Conv2d) else branch[-1]
            anchors = old.out_channels // head.num_columns
            new = nn.Conv2d(
                old.in_channels,
                anchors * outputs,
                old.kernel_size,
                stride=old.stride,
                padding=old.padding,
            )
            if old.kernel_size == (1, 1):  # SSDlite initialisation
                nn.init.normal_(new.weight, mean=0.0, std=0.03)
            else:
                nn.init.xavier_uniform_(new.weight)
            nn.init.zeros_(new.bias)
            if isinstance(branch, nn.Conv2d):
                head.module_list[index] = new
            else:
                branch[-1] = new
        head.num_columns = outputs
    else:
        raise UsageError(
            f"cannot replace the head of {type(model).__name__}",
            hint="supported: Faster/Mask/Keypoint R-CNN, RetinaNet, FCOS, SSD, SSDlite",
        )
    # New layers are created on the CPU; follow the model's device.
    device = next(model.parameters(), torch.empty(0)).device
    return model.to(device)
