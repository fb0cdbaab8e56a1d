"""Explain mode: class-activation maps for classifiers (``cam``) and detectors
(``detector_cam``), layer choice (``layers``), feature maps and kernels (``features``), and the
layer-by-layer summary (``summary``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from visiona.engine.explain.cam import CamExplainer
from visiona.engine.explain.detector_cam import DETECTION_TASKS, DetectorCamExplainer
from visiona.results.explanation import Explanation


def make_explainer(
    model: Any, *, method: str | None = None, conf: float | None = None, **options: Any
) -> CamExplainer | DetectorCamExplainer:
    """The explainer for ``model``'s task: Grad-CAM (default) for classifiers, EigenCAM (default)
    on the backbone for detectors (``options``: ``layer``, ``aug_smooth``, ``eigen_smooth`` are
    for classifiers)."""
    if model.task in DETECTION_TASKS:
        extra = {} if conf is None else {"conf": conf}
        return DetectorCamExplainer(model, method=method or "eigencam", **extra)
    return CamExplainer(model, method=method or "gradcam", **options)


def explain_images(
    model: Any,
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

    explainer = make_explainer(model, **options)
    for item in gather_inputs(inputs):
        try:
            image = load_image(item, max_pixels=max_pixels)
        except ImageLoadError as error:
            yield error.source, None, error
            continue
        yield image.source, explainer.explain(image, target), image


__all__ = ["CamExplainer", "DetectorCamExplainer", "explain_images", "make_explainer"]
