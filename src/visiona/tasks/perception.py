"""Tasks served by packaged pretrained perception models (MediaPipe, dlib, OpenCV, MTCNN).

These models are not torch modules: each backend is a callable that takes one ``(H, W, 3)``
uint8 RGB image and returns the task's typed result, and owns its own preprocessing (MediaPipe
graphs resize and letterbox internally). They run through the same
:class:`~visiona.engine.predict.predictor.Predictor` as every other task, on its ``packaged``
backend, which hands each decoded (ROI-cropped) image over as it is; :meth:`postprocess` maps
results of a cropped region back to whole-image pixels. A task lists its backends as ``"module:Class"`` plus fixed arguments; user
options (``conf``...) are passed to the constructor.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from visiona.errors import UsageError
from visiona.registry import unknown_name_error
from visiona.results.faces import Faces
from visiona.results.keypoints import Keypoints
from visiona.results.matte import Matte
from visiona.tasks.base import ImageMeta, Task

if TYPE_CHECKING:
    import numpy as np

    from visiona.results.base import Result
    from visiona.weights.record import Weights

Backend = tuple[str, Mapping[str, Any]]


class PerceptionTask(Task):
    """A task whose models are image → result callables chosen by backend name."""

    batched_input: ClassVar[bool] = False
    whole_images: ClassVar[bool] = True
    backends: ClassVar[Mapping[str, Backend]]
    default_backend: ClassVar[str]

    def build(self, backend: str | None = None, **options: Any) -> Callable[[np.ndarray], Result]:
        """The model for ``backend`` (default: :attr:`default_backend`) with ``options``.

        Raises:
            UnknownNameError: No such backend for this task.
            UsageError: An option is out of range for the backend.
            MissingDependencyError: The backend's package is not installed.
        """
        name = backend or self.default_backend
        if name not in self.backends:
            raise unknown_name_error(
                f"{self.name} backend", name, self.backends,
                f"{self.name} backends: {', '.join(self.backends)}",
            )  # fmt: skip
        target, fixed = self.backends[name]
        module_name, _, class_name = target.partition(":")
        factory = getattr(importlib.import_module(module_name), class_name)
        given = {key: value for key, value in options.items() if value is not None}
        accepted = set(inspect.signature(factory).parameters) - set(fixed)
        unknown = sorted(set(given) - accepted)
        if unknown:
            raise UsageError(
                f"backend {name!r} does not take the option(s) {', '.join(unknown)}",
                hint=f"it takes: {', '.join(sorted(accepted)) or 'no options'}",
            )
        return factory(**fixed, **given)

    def postprocess(
        self, outputs: Any, metas: Sequence[ImageMeta], weights: Weights | None, **options: Any
    ) -> list[Result]:
        """Stamp each backend result with its image's source (and size, where it has one), and
        move results of a region of interest (``meta.roi``) to whole-image pixels."""
        results = []
        for result, meta in zip(outputs, metas, strict=True):
            names = {field.name for field in dataclasses.fields(result)}
            changes: dict[str, Any] = {"source": meta.source}
            if "image_size" in names:
                changes["image_size"] = meta.size
            if meta.roi is not None:
                changes.update(_roi_to_image(result, meta))
            results.append(dataclasses.replace(result, **changes))
        return results


def _roi_to_image(result: Result, meta: ImageMeta) -> dict[str, Any]:
    """Field changes that move a result found in the ``meta.roi`` crop to whole-image pixels.

    Boxes ``(N, 4)`` and landmark/keypoint ``x, y`` shift by the crop's origin; a matte's
    ``(h, w)`` alpha is pasted into a zero ``(H, W)`` alpha of the whole image.
    """
    import numpy as np

    assert meta.roi is not None
    x0, y0, x1, y1 = meta.roi
    offset = np.array([x0, y0], dtype=np.float32)
    if isinstance(result, Faces):
        changes: dict[str, Any] = {"xyxy": result.xyxy + np.tile(offset, 2)}
        if result.landmarks is not None:
            changes["landmarks"] = result.landmarks + offset
        return changes
    if isinstance(result, Keypoints):
        points = result.points.copy()
        points[..., :2] += offset
        return {"points": points}
    if isinstance(result, Matte):
        width, height = meta.size
        alpha = np.zeros((height, width), dtype=np.float32)
        alpha[y0:y1, x0:x1] = result.alpha
        return {"alpha": alpha}
    return {}


_MP = "visiona.models.mediapipe_models"


class FacesTask(PerceptionTask):
    """Face detection: boxes, scores and five landmarks (:class:`~visiona.results.Faces`)."""

    name = "faces"
    default_backend = "blazeface"
    backends: ClassVar[Mapping[str, Backend]] = {
        "blazeface": (f"{_MP}:BlazeFaceDetector", {"model": "short_range"}),
        "blazeface_full": (f"{_MP}:BlazeFaceDetector", {"model": "full_range"}),
        "hog": ("visiona.models.dlib_models:DlibFaceDetector", {"kind": "hog"}),
        "cnn": ("visiona.models.dlib_models:DlibFaceDetector", {"kind": "cnn"}),
        "haar": ("visiona.models.opencv_faces:HaarFaceDetector", {}),
        "mtcnn": ("visiona.models.mtcnn:MtcnnDetector", {}),
    }

    result_type = Faces


class PoseTask(PerceptionTask):
    """Body pose: 33 landmarks with visibility (:class:`~visiona.results.Keypoints`)."""

    name = "pose"
    default_backend = "full"
    backends: ClassVar[Mapping[str, Backend]] = {
        level: (f"{_MP}:PoseLandmarker", {"complexity": level})
        for level in ("lite", "full", "heavy")
    }

    result_type = Keypoints


class HandsTask(PoseTask):
    """Hands: 21 landmarks and handedness per hand."""

    name = "hands"
    default_backend = "mediapipe"
    backends: ClassVar[Mapping[str, Backend]] = {"mediapipe": (f"{_MP}:HandLandmarker", {})}


class FaceMeshTask(PoseTask):
    """Face mesh: 478 landmarks per face."""

    name = "facemesh"
    default_backend = "mediapipe"
    backends: ClassVar[Mapping[str, Backend]] = {"mediapipe": (f"{_MP}:FaceMeshLandmarker", {})}


class MattingTask(PerceptionTask):
    """Person segmentation for background removal (:class:`~visiona.results.Matte`)."""

    name = "matting"
    default_backend = "general"
    backends: ClassVar[Mapping[str, Backend]] = {
        model: (f"{_MP}:SelfieSegmenter", {"model": model}) for model in ("general", "landscape")
    }

    result_type = Matte
