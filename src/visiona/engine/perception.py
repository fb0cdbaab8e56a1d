"""PerceptionPredictor: decode → packaged model callable → typed result, one image at a time.

MediaPipe graphs and dlib/OpenCV detectors take whole RGB images and preprocess them internally,
so there is nothing to batch or tensorise; everything else (input expansion, safe decoding, bad
images reported as error items, :class:`PredictionItem` output) is shared with the tensor
:class:`~visiona.engine.predict.Predictor`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from visiona.engine.predict import PredictionItem, gather_inputs
from visiona.errors import ImageLoadError, UsageError
from visiona.io.images import load_image
from visiona.tasks.base import ImageMeta, get_task
from visiona.tasks.perception import PerceptionTask

if TYPE_CHECKING:
    from visiona.results.base import Result


class PerceptionPredictor:
    """Runs one packaged perception model (faces, pose, hands, facemesh, matting) on images.

    Args:
        task: Task name: ``faces``, ``pose``, ``hands``, ``facemesh`` or ``matting``.
        backend: The task's backend (``blazeface``, ``hog``...; ``lite``/``full``/``heavy`` for
            pose; ``general``/``landscape`` for matting); ``None`` picks the task's default.
        max_pixels: Decoding limit per image (decompression-bomb guard).
        **options: Backend options such as ``conf``; ``None`` values are ignored.

    Raises:
        UsageError: ``task`` is not a perception task, or an option is invalid.
        MissingDependencyError: The backend's package is not installed (names the command).
    """

    def __init__(
        self,
        task: str,
        backend: str | None = None,
        *,
        max_pixels: int | None = None,
        **options: Any,
    ) -> None:
        self.task = get_task(task)
        if not isinstance(self.task, PerceptionTask):
            raise UsageError(f"task {task!r} does not run packaged perception models")
        self.backend = backend or self.task.default_backend
        self.model = self.task.build(self.backend, **options)
        self.max_pixels = max_pixels

    def stream(self, inputs: Any) -> Iterator[PredictionItem]:
        """Yield one :class:`PredictionItem` per input, in order; bad images become error items."""
        for item in gather_inputs(inputs):
            try:
                image = load_image(item, max_pixels=self.max_pixels)
            except ImageLoadError as error:
                yield PredictionItem(source=error.source, error=error)
                continue
            meta = ImageMeta(source=image.source, size=(image.width, image.height))
            (result,) = self.task.postprocess([self.model(image.array)], [meta], None)
            yield PredictionItem(source=image.source, result=result, image=image)

    def predict(self, inputs: Any) -> list[Result]:
        """Results for ``inputs`` (image, path, folder, glob, or a list of them), in order.

        Raises:
            ImageLoadError: An input is not a readable image (use :meth:`stream` to skip bad ones).
        """
        results = []
        for item in self.stream(inputs):
            if item.error is not None:
                raise item.error
            results.append(item.result)
        return results

    __call__ = predict
