"""torchvision's detectors (boxes, instance masks, keypoints) with their published COCO weights.

Class numbering: torchvision detectors reserve output 0 for the background and count it in their
``num_classes``. visiona does not: a detector's ``num_classes`` and its record's ``class_names``
list object classes only, so visiona class id ``i`` is torchvision label ``i + 1``. The builders
add the background output (``build(3, ...)`` makes a torchvision model with ``num_classes=4``)
and :class:`visiona.tasks.detect.DetectTask` subtracts one from the labels the network returns.
For the COCO weights this makes the class id the COCO category id minus one; torchvision's
placeholder names (``"N/A"``) for the 11 unused COCO ids are kept so that stays true.

The networks take a list of ``(3, H, W)`` float images in [0, 1] and resize and normalise them
themselves, so their preprocessing is ``resize="none"`` with ``mean=(0, 0, 0)``, ``std=(1, 1, 1)``.

Trained versus random structure: like torchvision, a builder given a weights file freezes the
backbone's batch norms (``FrozenBatchNorm2d``, with ``eps=0`` for the four v1 ResNet-50 models
whose COCO weights expect it), which is also what fine-tuning with small batches needs; a random
network keeps ordinary ``BatchNorm2d`` so it can learn from scratch. The ``frozen_norm`` option
overrides the choice (a checkpoint fine-tuned from COCO weights should record
``frozen_norm=True`` in its architecture options so it is rebuilt the same way).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.spec import ModelSpec
from visiona.weights.record import Preprocessing, Weights

if TYPE_CHECKING:
    from torch import nn

PREFIX = "torchvision/"
COCO_NUM_CLASSES = 90
"""Object classes of torchvision's COCO detectors: category ids 1–90, unused ids named ``N/A``."""


_RCNN_OPTIONS = frozenset(
    {
        "min_size", "max_size", "rpn_pre_nms_top_n_train", "rpn_pre_nms_top_n_test",
        "rpn_post_nms_top_n_train", "rpn_post_nms_top_n_test", "rpn_nms_thresh",
        "rpn_score_thresh", "box_score_thresh", "box_nms_thresh", "box_detections_per_img",
    }
)  # fmt: skip
_DENSE_OPTIONS = frozenset(
    {"min_size", "max_size", "score_thresh", "nms_thresh", "detections_per_img", "topk_candidates"}
)
_SSD_OPTIONS = frozenset({"score_thresh", "nms_thresh", "detections_per_img", "topk_candidates"})

# torchvision builds these with FrozenBatchNorm2d in the backbone when it loads trained weights...
_FROZEN_NORM_MODELS = frozenset(
    {
        "fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn",
        "fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn",
        "retinanet_resnet50_fpn", "fcos_resnet50_fpn",
    }
)  # fmt: skip
# ... and these COCO weights predate a fix of FrozenBatchNorm2d's eps (torchvision overwrite_eps).
_ZERO_EPS_MODELS = frozenset(
    {"fasterrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn",
     "retinanet_resnet50_fpn"}
)  # fmt: skip


def _entry(task: str, size: int, options: frozenset[str], description: str) -> dict[str, Any]:
    return {"task": task, "size": size, "options": options, "description": description}


DETECTION_MODELS: dict[str, dict[str, Any]] = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": _entry(
        "detect", 320, _RCNN_OPTIONS, "Faster R-CNN, MobileNetV3-Large FPN, 320 px (fast on CPU)"
    ),
    "fasterrcnn_mobilenet_v3_large_fpn": _entry(
        "detect", 800, _RCNN_OPTIONS, "Faster R-CNN, MobileNetV3-Large FPN"
    ),
    "fasterrcnn_resnet50_fpn": _entry("detect", 800, _RCNN_OPTIONS, "Faster R-CNN, ResNet-50 FPN"),
    "fasterrcnn_resnet50_fpn_v2": _entry(
        "detect", 800, _RCNN_OPTIONS, "Faster R-CNN, ResNet-50 FPN v2 (improved recipe)"
    ),
    "retinanet_resnet50_fpn": _entry("detect", 800, _DENSE_OPTIONS, "RetinaNet, ResNet-50 FPN"),
    "retinanet_resnet50_fpn_v2": _entry(
        "detect", 800, _DENSE_OPTIONS, "RetinaNet, ResNet-50 FPN v2 (improved recipe)"
    ),
    "ssd300_vgg16": _entry("detect", 300, _SSD_OPTIONS, "SSD300, VGG-16"),
    "ssdlite320_mobilenet_v3_large": _entry(
        "detect", 320, _SSD_OPTIONS, "SSDlite 320, MobileNetV3-Large (smallest, fastest)"
    ),
    "fcos_resnet50_fpn": _entry("detect", 800, _DENSE_OPTIONS, "FCOS (anchor-free), ResNet-50 FPN"),
    "maskrcnn_resnet50_fpn": _entry(
        "segment-instances", 800, _RCNN_OPTIONS, "Mask R-CNN, ResNet-50 FPN"
    ),
    "maskrcnn_resnet50_fpn_v2": _entry(
        "segment-instances", 800, _RCNN_OPTIONS, "Mask R-CNN, ResNet-50 FPN v2 (improved recipe)"
    ),
    "keypointrcnn_resnet50_fpn": _entry(
        "keypoints", 800, _RCNN_OPTIONS | {"num_keypoints"}, "Keypoint R-CNN, ResNet-50 FPN"
    ),
}
"""Name → task, nominal input size (the network's ``min_size``), options, description."""


def detection_names() -> tuple[str, ...]:
    """Names of the torchvision detectors in the catalogue (no torch import)."""
    return tuple(DETECTION_MODELS)


def detection_preprocessing(size: int) -> Preprocessing:
    """Images go in at their own size as [0, 1] floats; the detector resizes and normalises."""
    return Preprocessing(
        input_size=(size, size),
        resize="none",
        resize_size=None,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
    )


def _allowed_options(name: str) -> frozenset[str]:
    allowed = DETECTION_MODELS[name]["options"]
    return allowed | {"frozen_norm"} if name in _FROZEN_NORM_MODELS else allowed


def option_value(value: Any) -> Any:
    """A command-line option value (``"16"``, ``"0.5"``, ``"true"``) as a number or bool."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return value


def _check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with command-line strings converted; raises UsageError for bad ones."""
    options = {key: option_value(value) for key, value in options.items()}
    allowed = _allowed_options(name)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise UsageError(
            f"model {name!r} takes no option {unknown[0]!r}",
            hint=f"its options: {', '.join(sorted(allowed))}",
        )
    for key, value in options.items():
        if key == "frozen_norm":
            if not isinstance(value, bool):
                raise UsageError(f"option 'frozen_norm' of {name!r} must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"option {key!r} of {name!r} must be a number, got {value!r}")
    return options


def freeze_batch_norms(module: nn.Module, eps: float | None = None) -> nn.Module:
    """Replace every ``BatchNorm2d`` inside ``module`` by a ``FrozenBatchNorm2d``, in place.

    Statistics and affine parameters are copied (they become buffers, never trained).

    Args:
        module: Usually a detector's ``backbone.body``.
        eps: A new epsilon for all of them; ``None`` keeps each layer's own.

    Returns:
        ``module`` itself.
    """
    from torch import nn
    from torchvision.ops import FrozenBatchNorm2d

    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps if eps is None else eps)
            for key in ("weight", "bias", "running_mean", "running_var"):
                source = getattr(child, key)
                if source is not None:
                    getattr(frozen, key).copy_(source.detach())
            setattr(module, name, frozen)
        else:
            freeze_batch_norms(child, eps)
    return module


def _options_preprocessing(name: str, options: dict[str, Any] | None) -> Preprocessing:
    options = _check_options(name, dict(options or {}))
    return detection_preprocessing(int(options.get("min_size", DETECTION_MODELS[name]["size"])))


def _builder(name: str):
    def build(num_classes: int, weights_file: Path | None, **options: Any) -> nn.Module:
        """``num_classes`` object classes (background excluded); loads ``weights_file`` if given."""
        import torchvision.models

        from visiona.weights.loading import load_state_dict

        options = _check_options(name, options)
        if num_classes < 1:
            raise UsageError(f"a detector needs at least one object class, got {num_classes}")
        options = dict(options)
        frozen_norm = options.pop("frozen_norm", weights_file is not None)
        model = torchvision.models.get_model(
            name, weights=None, weights_backbone=None, num_classes=num_classes + 1, **options
        )
        if frozen_norm and name in _FROZEN_NORM_MODELS:
            eps = 0.0 if name in _ZERO_EPS_MODELS else None
            freeze_batch_norms(model.backbone.body, eps)
        if weights_file is not None:
            model.load_state_dict(load_state_dict(weights_file))
        return model

    return build


def _weights(name: str) -> tuple[Weights, ...]:
    from visiona.models.torchvision_models import published_weights

    entry = DETECTION_MODELS[name]
    # Category 0 is torchvision's background ("__background__", "no person").
    return published_weights(
        name,
        task=entry["task"],
        preprocessing=detection_preprocessing(entry["size"]),
        drop_background=True,
    )


def spec_for(name: str) -> ModelSpec | None:
    """A ModelSpec for torchvision detector ``name`` (``torchvision/`` prefix optional)."""
    bare = name.removeprefix(PREFIX)
    entry = DETECTION_MODELS.get(bare)
    if entry is None:
        return None
    return ModelSpec(
        name=bare,
        task=entry["task"],
        family="torchvision",
        build=_builder(bare),
        weights_factory=functools.partial(_weights, bare),
        preprocessing=detection_preprocessing(entry["size"]),
        num_classes=1 if entry["task"] == "keypoints" else COCO_NUM_CLASSES,
        description=f"torchvision {entry['description']}",
        options_preprocessing=functools.partial(_options_preprocessing, bare),
    )
