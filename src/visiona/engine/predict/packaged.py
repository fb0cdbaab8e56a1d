"""Packaged perception models (MediaPipe, dlib, OpenCV, MTCNN) as models of the one Predictor.

These models are not torch modules: each is a callable that takes one ``(H, W, 3)`` uint8 RGB
image, preprocesses it itself and returns the task's typed result.
:func:`~visiona.models.load.load_packaged_model` wraps one in a :class:`~visiona.models.load.LoadedModel`, and the :class:`Predictor` runs it on the
``packaged`` backend (:class:`~visiona.engine.predict.backends.PackagedBackend`), so input
expansion, safe decoding, ROI, decode-ahead, streaming and serving are the same code as for every
other task.
"""

from __future__ import annotations

from typing import Any

from visiona.engine.predict.predictor import Predictor
from visiona.models.load import load_packaged_model


class PerceptionPredictor(Predictor):
    """A :class:`Predictor` for a packaged perception model, built from the task and model name.

    ``PerceptionPredictor("faces", "hog", conf=0.5)`` is
    ``Predictor(load_packaged_model("faces", "hog", conf=0.5))``.

    Args:
        task: ``faces``, ``pose``, ``hands``, ``facemesh`` or ``matting``.
        backend: The task's model name (kept under this name for compatibility; ``None``: the
            task's default).
        max_pixels: Decoding limit per image (decompression-bomb guard).
        roi: Look only at a region (results are mapped back to whole-image pixels).
        workers: Decode-ahead threads (default: one per core).
        **options: Model options such as ``conf``; ``None`` values are ignored.
    """

    def __init__(
        self,
        task: str,
        backend: str | None = None,
        *,
        max_pixels: int | None = None,
        roi: Any = None,
        workers: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            load_packaged_model(task, backend, **options),
            max_pixels=max_pixels,
            roi=roi,
            workers=workers,
            batch_size=1,
        )
