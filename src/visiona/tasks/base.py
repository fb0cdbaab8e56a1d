"""Task: what differs between tasks (result type, options, postprocessing); engines do the rest.

One static table maps task names to Task classes, imported lazily so the CLI stays fast.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from visiona.registry import unknown_name_error

if TYPE_CHECKING:
    from visiona.results.base import Result
    from visiona.weights.record import Weights


@dataclass(frozen=True)
class ImageMeta:
    """What postprocessing needs to know about one input image.

    Attributes:
        source: Display name of the input (path or description).
        size: ``(width, height)`` of the decoded image.
        roi: ``(x0, y0, x1, y1)`` of the part that was fed to the network, if not the whole image.
    """

    source: str
    size: tuple[int, int]
    roi: tuple[int, int, int, int] | None = None


class Task(ABC):
    """Hooks a mode engine asks of a task.

    Attributes:
        name: Task name in :data:`TASKS`.
        result_type: Result class :meth:`postprocess` returns.
        batched_input: ``True``: the network takes one ``(N, 3, H, W)`` tensor (all images
            preprocessed to one size). ``False``: it takes a list of ``(3, H_i, W_i)`` tensors of
            different sizes and resizes them itself (torchvision detectors).
        whole_images: ``True``: the model is a packaged callable that takes each decoded
            ``(H, W, 3)`` uint8 RGB image as it is and preprocesses it itself (MediaPipe, dlib,
            OpenCV); the Predictor then runs it on the ``packaged`` backend.
    """

    name: ClassVar[str]
    result_type: ClassVar[type[Result]]
    batched_input: ClassVar[bool] = True
    whole_images: ClassVar[bool] = False

    def check_options(self, weights: Weights, **options: Any) -> None:
        """Validate postprocessing options before any image is processed (fail fast).

        Raises:
            UsageError: An option is unknown or out of range for this task and model.
        """
        return None  # default: postprocess itself checks its options

    @abstractmethod
    def postprocess(
        self, outputs: Any, metas: Sequence[ImageMeta], weights: Weights, **options: Any
    ) -> list[Result]:
        """Turn a batch of raw network outputs into one result per image."""


TASKS: dict[str, str] = {
    "classify": "visiona.tasks.classify:ClassifyTask",
    "detect": "visiona.tasks.detect:DetectTask",
    "segment-instances": "visiona.tasks.detect:InstanceSegmentTask",
    "keypoints": "visiona.tasks.detect:KeypointTask",
    "faces": "visiona.tasks.perception:FacesTask",
    "pose": "visiona.tasks.perception:PoseTask",
    "hands": "visiona.tasks.perception:HandsTask",
    "facemesh": "visiona.tasks.perception:FaceMeshTask",
    "matting": "visiona.tasks.perception:MattingTask",
    "embed": "visiona.tasks.embed:EmbedTask",
    "segment": "visiona.tasks.segment:SegmentTask",
}


def get_task(name: str) -> Task:
    """An instance of the task called ``name``; unknown names raise with close matches."""
    if name not in TASKS:
        raise unknown_name_error("task", name, TASKS, f"known tasks: {', '.join(TASKS)}")
    module_name, _, class_name = TASKS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
