"""Class-activation maps for detectors (torchvision's R-CNN family and visiona's small detectors).

As in grad-cam's own detector tutorial: the target layer is the backbone, whose feature pyramid
(a dict of ``(1, C, h_i, w_i)`` maps) is brought to one resolution and stacked; the target is one
detected box (:class:`pytorch_grad_cam.utils.model_targets.FasterRCNNBoxScoreTarget`: the box's
IoU with the network's matching output plus its score). EigenCAM, the default, needs no gradients
and so works whatever the detector's post-processing does; gradient methods may also be asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.defaults import DETECT_CONF
from visiona.engine.explain.cam import _quiet_progress, cam_class, input_to_image, torch_module
from visiona.errors import UsageError
from visiona.results.explanation import Explanation

if TYPE_CHECKING:
    import torch

    from visiona.io.images import LoadedImage
    from visiona.models.load import LoadedModel

DETECTION_TASKS = ("detect", "segment-instances", "keypoints")


def pyramid_reshape(features: Any) -> torch.Tensor:
    """A backbone's output → one ``(N, C_total, h, w)`` map at its finest level's size.

    A dict of feature maps (FPN levels) is resized to the largest level and concatenated; a single
    map passes through.
    """
    import torch
    from torch.nn import functional

    if isinstance(features, torch.Tensor):
        return features
    levels = list(features.values())
    size = max((level.shape[-2:] for level in levels), key=lambda s: s[0] * s[1])
    resized = [functional.interpolate(level.abs(), size, mode="bilinear") for level in levels]
    return torch.cat(resized, dim=1)


class _FirstImage:
    """Wraps a detector so that its output is the first image's dict (what targets read)."""

    def __init__(self, module: Any) -> None:
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = module

            def forward(self, batch: torch.Tensor) -> Any:
                return self.inner(list(batch))

        self.module = Wrapped().eval()


class DetectorCamExplainer:
    """Explains one detected box per image.

    Args:
        model: A loaded PyTorch detector.
        method: ``eigencam`` (default) or a gradient method (``gradcam``...).
        conf: Boxes below this score are not explained.
    """

    def __init__(
        self, model: LoadedModel, *, method: str = "eigencam", conf: float = DETECT_CONF
    ) -> None:
        if model.task not in DETECTION_TASKS:
            raise UsageError(f"{model.source} is a {model.task} model, not a detector")
        self.model = model
        self.detector = torch_module(model).eval()
        if not hasattr(self.detector, "backbone"):
            raise UsageError(
                f"{type(self.detector).__name__} has no backbone to explain",
                hint="detectors with a .backbone (torchvision R-CNNs, visiona's small ones) work",
            )
        self.method = method.lower()
        self.cam_type = cam_class(method)
        self.conf = conf

    def explain(self, image: LoadedImage, target: int | str | None = None) -> Explanation:
        """The heat map for detection number ``target`` (by decreasing score; default 0)."""
        import torch
        from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget

        from visiona.ops.preprocess import normalize, resize_pixels

        preprocessing = self.model.weights.preprocessing
        pixels = normalize(resize_pixels(image.array, preprocessing), preprocessing)
        with torch.no_grad():
            output = self.detector([pixels])[0]
        keep = output["scores"] >= self.conf
        boxes, labels, scores = (
            output["boxes"][keep],
            output["labels"][keep],
            output["scores"][keep],
        )
        if len(boxes) == 0:
            raise UsageError(
                f"{image.source}: no detection scores {self.conf} or more, nothing to explain",
                hint="lower --conf",
            )
        index = 0 if target in (None, "") else int(target)
        if not 0 <= index < len(boxes):
            raise UsageError(
                f"--target {index}: the image has {len(boxes)} detections (0..{len(boxes) - 1})"
            )
        wrapped = _FirstImage(self.detector).module
        cam = self.cam_type(
            model=wrapped,
            target_layers=[wrapped.inner.backbone],
            reshape_transform=pyramid_reshape,
        )
        box_target = FasterRCNNBoxScoreTarget(labels[index : index + 1], boxes[index : index + 1])
        with cam, _quiet_progress():
            maps = cam(input_tensor=pixels.unsqueeze(0), targets=[box_target])
        heatmap = input_to_image(np.nan_to_num(maps[0]), preprocessing, (image.width, image.height))
        names = self.model.weights.class_names
        label = int(labels[index]) - 1  # torchvision labels count the background as 0
        return Explanation(
            heatmap=heatmap,
            target=index,
            target_name=names[label] if 0 <= label < len(names) else str(label),
            score=float(scores[index]),
            method=self.method,
            layer="backbone",
            model=self.model.architecture,
            source=image.source,
        )
