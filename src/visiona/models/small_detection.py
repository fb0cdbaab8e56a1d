"""Small two-stage detectors that train from scratch on a laptop CPU in minutes.

The course's Faster R-CNN, Mask R-CNN and Keypoint R-CNN, built from torchvision's detection
heads (RPN, RoIAlign, box/mask/keypoint heads) on a compact from-scratch backbone: four
conv-BN-ReLU stages (stride 16) with a two-level feature pyramid (strides 8 and 16), 96 channels.
Nothing here needs pretrained weights, so these are the detectors visiona trains offline on the
synthetic shapes set (tests, demo, benchmark); the torchvision ResNet/MobileNet detectors are the
choice once COCO weights can be downloaded.

Class numbering follows :mod:`visiona.models.torchvision_detection`: ``num_classes`` counts object
classes only; the network adds torchvision's background output 0.

Sizes: images are resized by the network so the shorter side is ``min_size`` (default 128) and the
longer at most ``max_size`` (default 256); anchors 16-128 px cover objects from about a tenth of the
image to all of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.spec import ModelSpec
from visiona.models.torchvision_detection import detection_preprocessing, option_value

if TYPE_CHECKING:
    from torch import nn

SMALL_DETECTORS = {
    "fasterrcnn_small": "detect",
    "maskrcnn_small": "segment-instances",
    "keypointrcnn_small": "keypoints",
}
"""Name → task."""

DEFAULT_MIN_SIZE = 128
_OPTIONS = frozenset(
    {"min_size", "max_size", "width", "num_keypoints", "box_score_thresh",
     "box_detections_per_img", "box_nms_thresh"}
)  # fmt: skip


def _check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with command-line strings converted; raises UsageError for bad ones."""
    options = {key: option_value(value) for key, value in options.items()}
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise UsageError(
            f"model {name!r} takes no option {unknown[0]!r}",
            hint=f"its options: {', '.join(sorted(_OPTIONS))}",
        )
    if "num_keypoints" in options and SMALL_DETECTORS[name] != "keypoints":
        raise UsageError(f"option 'num_keypoints' is for keypointrcnn_small, not {name!r}")
    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"option {key!r} of {name!r} must be a number, got {value!r}")
    return options


def build_small_detector(
    name: str, num_classes: int, weights_file: Path | None, **options: Any
) -> nn.Module:
    """A torchvision ``FasterRCNN``/``MaskRCNN``/``KeypointRCNN`` on a ``SmallBackbone``.

    Args:
        name: One of :data:`SMALL_DETECTORS`.
        num_classes: Object classes (background excluded).
        weights_file: A state dict to load (a visiona checkpoint of the same build), or None.
        **options: ``min_size``, ``max_size``, ``width`` (backbone channels, default 96),
            ``num_keypoints`` (Keypoint R-CNN, default 17), ``box_score_thresh``,
            ``box_detections_per_img``, ``box_nms_thresh``.

    Returns:
        The detector; in training mode it takes ``(images, targets)`` and returns a loss dict, in
        eval mode a list of ``{"boxes", "labels", "scores"[, "masks" | "keypoints"]}``.
    """
    from torchvision.models.detection import FasterRCNN, KeypointRCNN, MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.keypoint_rcnn import (
        KeypointRCNNHeads,
        KeypointRCNNPredictor,
    )
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign

    from visiona.models.small_backbone import SmallBackbone
    from visiona.weights.loading import load_state_dict

    options = _check_options(name, options)
    if num_classes < 1:
        raise UsageError(f"a detector needs at least one object class, got {num_classes}")
    options = dict(options)
    width = int(options.pop("width", 96))
    if width < 8 or width % 4:
        raise UsageError(f"option 'width' must be a multiple of 4, at least 8; got {width}")
    min_size = int(options.pop("min_size", DEFAULT_MIN_SIZE))
    max_size = int(options.pop("max_size", 2 * min_size))
    backbone = SmallBackbone(width)
    anchors = AnchorGenerator(
        sizes=((16, 24, 32), (48, 80, 128)), aspect_ratios=((0.5, 1.0, 2.0),) * 2
    )
    common: dict[str, Any] = {
        "min_size": min_size,
        "max_size": max_size,
        "rpn_anchor_generator": anchors,
        "box_roi_pool": MultiScaleRoIAlign(["0", "1"], output_size=7, sampling_ratio=2),
        "box_head": TwoMLPHead(width * 7 * 7, 256),
        # Few proposals and sampled RoIs: small images hold a handful of objects, and the
        # default 2000 proposals x 512 RoIs would spend most of the time in the box head.
        "rpn_pre_nms_top_n_train": 600,
        "rpn_post_nms_top_n_train": 300,
        "rpn_pre_nms_top_n_test": 300,
        "rpn_post_nms_top_n_test": 150,
        "rpn_batch_size_per_image": 128,
        "box_batch_size_per_image": 128,
        **options,
    }
    task = SMALL_DETECTORS[name]
    classes = num_classes + 1
    head_width = 128
    # torchvision's default mask/keypoint heads (4 x 256 and 8 x 512 channels) dwarf this backbone.
    if task == "segment-instances":
        model = MaskRCNN(
            backbone,
            num_classes=None,
            box_predictor=FastRCNNPredictor(256, classes),
            mask_roi_pool=MultiScaleRoIAlign(["0", "1"], output_size=14, sampling_ratio=2),
            mask_head=MaskRCNNHeads(width, (head_width, head_width), dilation=1),
            mask_predictor=MaskRCNNPredictor(head_width, head_width, classes),
            **common,
        )
    elif task == "keypoints":
        num_keypoints = int(common.pop("num_keypoints", 17))
        model = KeypointRCNN(
            backbone,
            num_classes=None,
            box_predictor=FastRCNNPredictor(256, classes),
            keypoint_roi_pool=MultiScaleRoIAlign(["0", "1"], output_size=14, sampling_ratio=2),
            keypoint_head=KeypointRCNNHeads(width, (head_width,) * 4),
            keypoint_predictor=KeypointRCNNPredictor(head_width, num_keypoints),
            **common,
        )
    else:
        model = FasterRCNN(
            backbone, num_classes=None, box_predictor=FastRCNNPredictor(256, classes), **common
        )
    if weights_file is not None:
        model.load_state_dict(load_state_dict(weights_file))
    return model


def _options_preprocessing(name: str, options: dict[str, Any] | None) -> Any:
    options = _check_options(name, dict(options or {}))
    return detection_preprocessing(int(options.get("min_size", DEFAULT_MIN_SIZE)))


def specs() -> list[ModelSpec]:
    """The catalogue entries of the small detectors."""
    import functools

    descriptions = {
        "detect": "Faster R-CNN",
        "segment-instances": "Mask R-CNN",
        "keypoints": "Keypoint R-CNN",
    }
    return [
        ModelSpec(
            name=name,
            task=task,
            family="visiona",
            build=functools.partial(build_small_detector, name),
            preprocessing=detection_preprocessing(DEFAULT_MIN_SIZE),
            num_classes=1 if task == "keypoints" else 3,
            description=f"small {descriptions[task]} from scratch (trains on a CPU in minutes)",
            options_preprocessing=functools.partial(_options_preprocessing, name),
        )
        for name, task in SMALL_DETECTORS.items()
    ]
