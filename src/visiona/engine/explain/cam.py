"""Class-activation maps (Grad-CAM and its family) for classifiers, through the ``grad-cam`` library.

visiona does no CAM arithmetic of its own: it prepares the input exactly as prediction does (the
model's Weights record), picks the layer (:mod:`visiona.engine.explain.layers`), names the target,
calls ``pytorch_grad_cam`` and maps the ``(h, w)`` map at the network's input size back onto the
original image (undoing the resize and the centre crop), so the overlay lines up with the photo.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import MissingDependencyError, UsageError
from visiona.registry import unknown_name_error
from visiona.results.explanation import Explanation

if TYPE_CHECKING:
    from visiona.io.images import LoadedImage
    from visiona.models.load import LoadedModel
    from visiona.weights.record import Preprocessing

METHODS = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "eigengradcam": "EigenGradCAM",
    "hirescam": "HiResCAM",
    "scorecam": "ScoreCAM",
    "ablationcam": "AblationCAM",
}
GRAD_CAM_EXTRA = 'pip install "visiona[explain]"'


def cam_class(method: str) -> Any:
    """The ``pytorch_grad_cam`` class for ``method`` (``gradcam``, ``eigencam``...)."""
    key = method.lower().replace("_", "").replace("-", "")
    if key not in METHODS:
        raise unknown_name_error("CAM method", method, METHODS, f"methods: {', '.join(METHODS)}")
    try:
        import pytorch_grad_cam
    except ImportError:
        raise MissingDependencyError(
            "the grad-cam package is not installed", hint=f"install it with: {GRAD_CAM_EXTRA}"
        ) from None
    return getattr(pytorch_grad_cam, METHODS[key])


def torch_module(model: LoadedModel) -> Any:
    """The model's ``nn.Module``; ONNX files and packaged models have no gradients to use."""
    from torch import nn

    if not isinstance(model.module, nn.Module):
        kind = "an ONNX file" if str(model.source).endswith(".onnx") else "a packaged model"
        raise UsageError(
            f"CAM needs a PyTorch model with gradients; {model.source} is {kind}",
            hint="explain the checkpoint it came from (runs/<task>/<name>/best) or its catalogue "
            "name instead",
        )
    return model.module


def resolve_target(target: str | int | None, class_names: tuple[str, ...], top1: int) -> int:
    """Class index for ``target`` (a name or an index); ``None`` is the model's top-1.

    Raises:
        UsageError: An index outside the model's classes, or an unknown class name.
    """
    if target is None or target == "":
        return top1
    count = len(class_names)
    text = str(target).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < count:
            raise UsageError(
                f"--target {index} is outside the model's {count} classes (0..{count - 1})"
            )
        return index
    if text in class_names:
        return class_names.index(text)
    raise unknown_name_error("class", text, class_names, "give a class name or index (0-based)")


def input_to_image(
    heatmap: np.ndarray, preprocessing: Preprocessing, size: tuple[int, int]
) -> np.ndarray:
    """Map a ``(h, w)`` map at the network's input back onto the original ``(H, W)`` image.

    Undoes :func:`visiona.ops.preprocess.resize_pixels`: a stretch is resized back; a
    shorter-side resize plus centre crop puts the map where the crop came from, and leaves the
    cut-off borders at 0; ``resize="none"`` maps are already at image size.

    Args:
        heatmap: ``(h, w)`` float32 in [0, 1] at the network's input size.
        preprocessing: The model's preprocessing.
        size: ``(W, H)`` of the original image.
    """
    from PIL import Image

    width, height = size
    if preprocessing.resize != "shorter_side_center_crop":
        box = (0, 0, width, height)
        out = np.zeros((height, width), np.float32)
    else:
        short = preprocessing.resize_size or min(preprocessing.input_size)
        # torchvision's resize(int): the shorter side becomes ``short``, the longer is truncated.
        if width <= height:
            resized_w, resized_h = short, int(short * height / width)
        else:
            resized_w, resized_h = int(short * width / height), short
        crop_h, crop_w = preprocessing.input_size
        top = round((resized_h - crop_h) / 2.0)
        left = round((resized_w - crop_w) / 2.0)
        scale_x, scale_y = width / resized_w, height / resized_h
        box = (
            max(0, round(left * scale_x)),
            max(0, round(top * scale_y)),
            min(width, round((left + crop_w) * scale_x)),
            min(height, round((top + crop_h) * scale_y)),
        )
        out = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        region = Image.fromarray(heatmap.astype(np.float32), "F").resize(
            (x1 - x0, y1 - y0), Image.Resampling.BILINEAR
        )
        out[y0:y1, x0:x1] = np.asarray(region)
    return np.clip(out, 0.0, 1.0)


class CamExplainer:
    """Explains a classifier's predictions with one CAM method on one layer.

    Args:
        model: A loaded PyTorch classifier (catalogue model or checkpoint).
        method: ``gradcam``, ``gradcam++``, ``xgradcam``, ``layercam``, ``eigencam``,
            ``eigengradcam``, ``hirescam``, ``scorecam`` or ``ablationcam``.
        layer: Layer name (default: chosen per architecture, see
            :func:`~visiona.engine.explain.layers.choose_layer`).
        aug_smooth: Average over flipped and rescaled copies (smoother, 6× slower).
        eigen_smooth: Keep the first principal component of the weighted activations.

    Raises:
        UsageError: Not a classifier, not a PyTorch model, unknown layer or method.
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        method: str = "gradcam",
        layer: str | None = None,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> None:
        import torch

        from visiona.engine.explain.layers import choose_layer

        if model.task != "classify":
            raise UsageError(
                f"explain cam works on classifiers; {model.source} is a {model.task} model"
            )
        self.model = model
        self.module = torch_module(model).eval()
        self.method = method.lower()
        self.cam_type = cam_class(method)
        height, width = model.weights.preprocessing.input_size
        example = torch.zeros(1, 3, height, width)
        self.layer = choose_layer(self.module, example, layer)
        self.aug_smooth = aug_smooth
        self.eigen_smooth = eigen_smooth

    def explain(self, image: LoadedImage, target: str | int | None = None) -> Explanation:
        """The heat map for ``target`` (default: the top-1 class) on one decoded image."""
        import torch
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        from visiona.ops.preprocess import normalize, resize_pixels
        from visiona.tasks.classify import probabilities_from_logits

        preprocessing = self.model.weights.preprocessing
        batch = normalize(resize_pixels(image.array, preprocessing), preprocessing).unsqueeze(0)
        with torch.no_grad():
            probabilities = probabilities_from_logits(self.module(batch))[0]
        names = self.model.weights.class_names or tuple(str(i) for i in range(len(probabilities)))
        index = resolve_target(target, tuple(names), int(probabilities.argmax()))
        if probabilities.shape[0] == 2 and self.module(batch).shape[1] == 1:
            raise UsageError("CAM targets of a single-logit (binary BCE) model are not supported")
        with self._cam() as cam, _quiet_progress():
            maps = cam(
                input_tensor=batch.requires_grad_(True),
                targets=[ClassifierOutputTarget(index)],
                aug_smooth=self.aug_smooth,
                eigen_smooth=self.eigen_smooth,
            )
        heatmap = input_to_image(np.nan_to_num(maps[0]), preprocessing, (image.width, image.height))
        return Explanation(
            heatmap=heatmap,
            target=index,
            target_name=names[index],
            score=float(probabilities[index]),
            method=self.method,
            layer=self.layer.name,
            model=self.model.architecture,
            source=image.source,
        )

    def _cam(self) -> Any:
        options: dict[str, Any] = {}
        if self.layer.reshape is not None:
            options["reshape_transform"] = self.layer.reshape
        return self.cam_type(model=self.module, target_layers=[self.layer.module], **options)


class _quiet_progress:  # noqa: N801 - used as a context manager
    """ScoreCAM/AblationCAM draw tqdm bars; visiona shows its own progress."""

    def __enter__(self) -> None:
        self._old = os.environ.get("TQDM_DISABLE")
        os.environ["TQDM_DISABLE"] = "1"

    def __exit__(self, *exc: Any) -> None:
        if self._old is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = self._old


def explain_images(
    model: LoadedModel,
    inputs: Any,
    *,
    target: str | int | None = None,
    max_pixels: int | None = None,
    **options: Any,
) -> Iterator[tuple[str, Explanation | None, Any]]:
    """Yield ``(source, explanation or None, image or error)`` for every input image."""
    from visiona.data.sources import gather_inputs
    from visiona.errors import ImageLoadError
    from visiona.io.images import load_image

    explainer = CamExplainer(model, **options)
    for item in gather_inputs(inputs):
        try:
            image = load_image(item, max_pixels=max_pixels)
        except ImageLoadError as error:
            yield error.source, None, error
            continue
        yield image.source, explainer.explain(image, target), image
