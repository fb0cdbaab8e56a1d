"""The Predictor: decode → preprocess → batch → backend → postprocess into typed results.

The Python API, the CLI, video loops and the REST server all go through this class, so every entry
point preprocesses and postprocesses identically.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.data.sources import gather_inputs
from visiona.engine.predict.backends import default_backend, make_backend
from visiona.errors import ImageLoadError, UsageError
from visiona.io.fast_decode import decode_image
from visiona.io.images import LoadedImage
from visiona.ops.preprocess import Roi, crop, normalize, resize_pixels
from visiona.tasks.base import ImageMeta, get_task

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from visiona.models.load import LoadedModel
    from visiona.results.base import Result
    from visiona.weights.record import Weights

ImageInput = "str | os.PathLike[str] | bytes | np.ndarray | Image.Image"
Prepared = tuple[LoadedImage, "torch.Tensor", ImageMeta]


@dataclass(frozen=True)
class PredictionItem:
    """One input's outcome in a batch run: a result, or the error that stopped it."""

    source: str
    result: Result | None = None
    error: ImageLoadError | None = None
    image: LoadedImage | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Predictor:
    """Runs one model on images and returns typed results.

    Args:
        model: A loaded model with its Weights record (see :func:`visiona.models.load.load_model`).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        backend: Inference backend: ``torch`` (eager), ``compiled`` (``torch.compile``),
            ``onnx`` (ONNX Runtime), ``tflite`` (LiteRT) or ``packaged`` (packaged perception models, which take
            whole images). Default: ``packaged`` for perception tasks, ``onnx`` for a model read
            from an ``.onnx`` file, else ``torch``. Results are the same typed objects whatever
            the backend.
        batch_size: Images per forward pass.
        roi: Look only at a region: ``"center:0.5"``, ``"box:x0,y0,x1,y1"`` or a :class:`Roi`
            (detections are mapped back to whole-image pixels).
        max_pixels: Decoding limit per image (decompression-bomb guard).
        workers: Threads that decode and resize the next batch while the network runs the
            current one (``0``: decode in the calling thread, between batches). Default: one
            per available core — decoding and resizing release the GIL, and they fill the gaps
            that a small network leaves in the backend's thread pool.
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        device: str | None = "auto",
        backend: str | None = None,
        batch_size: int = 8,
        roi: Roi | str | None = None,
        max_pixels: int | None = None,
        workers: int | None = None,
    ) -> None:
        from visiona.engine.predict.onnx_backend import available_cores

        if batch_size < 1:
            raise UsageError(f"batch size must be at least 1, got {batch_size}")
        if workers is not None and workers < 0:
            raise UsageError(f"workers must be 0 or more, got {workers}")
        self.workers = available_cores() if workers is None else workers
        self.model = model
        self.task = get_task(model.task)
        self.backend = make_backend(backend or default_backend(model), model, device)
        self.batch_size = batch_size
        self.roi = Roi.parse(roi) if isinstance(roi, str) else roi
        self.max_pixels = max_pixels

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        *,
        task: str = "classify",
        pretrained: bool = True,
        weights_file: str | Path | None = None,
        console: Console | None = None,
        **kwargs: Any,
    ) -> Predictor:
        """Load ``model`` (name or checkpoint; default: the task's default) and wrap it."""
        from visiona.models.load import load_model

        if task == "embed":  # classifiers' pooled features, transformers models, dlib faces
            from visiona.models.embedders import load_embedder

            loaded = load_embedder(
                model, pretrained=pretrained, weights_file=weights_file, console=console
            )
        else:
            loaded = load_model(
                model, task=task, pretrained=pretrained, weights_file=weights_file, console=console
            )
        return cls(loaded, **kwargs)

    @property
    def weights(self) -> Weights:
        return self.model.weights

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.model.weights.class_names

    @property
    def takes_images(self) -> bool:
        """Whether the backend takes whole decoded images (packaged perception models)."""
        return getattr(self.backend, "takes_images", False)

    def preprocess(self, image: LoadedImage) -> tuple[Any, ImageMeta]:
        """One decoded image → ``(3, H, W)`` uint8 pixels, resized, and its metadata.

        For a backend that takes whole images the pixels are the ``(H, W, 3)`` uint8 array
        itself (ROI-cropped), since packaged models preprocess internally.

        ``H, W`` is the model's input size, or the image's (ROI's) own size when its
        preprocessing does not resize (``resize="none"``, torchvision detectors). Normalisation
        happens per batch, in :meth:`_run` (or inside the ONNX graph).
        """
        pixels = image.array
        roi_box = None
        if self.roi is not None:
            roi_box = self.roi.box_for(image.width, image.height)
            pixels = crop(pixels, roi_box)
        meta = ImageMeta(source=image.source, size=(image.width, image.height), roi=roi_box)
        if self.takes_images:  # packaged models preprocess the (H, W, 3) image themselves
            return pixels, meta
        return resize_pixels(pixels, self.weights.preprocessing), meta

    def stream(self, inputs: Any, **options: Any) -> Iterator[PredictionItem]:
        """Yield one :class:`PredictionItem` per input, in order; bad images become error items."""
        items = gather_inputs(inputs)
        chunks = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        if self.workers == 0 or len(items) == 1:
            for chunk in chunks:
                yield from self._run_chunk([self._prepare(item) for item in chunk], options)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="visiona-decode") as pool:
            ahead = [pool.submit(self._prepare, item) for item in chunks[0]]
            for index in range(len(chunks)):
                current = ahead
                if index + 1 < len(chunks):  # decode the next batch while this one runs
                    ahead = [pool.submit(self._prepare, item) for item in chunks[index + 1]]
                yield from self._run_chunk([future.result() for future in current], options)

    def run_decoded(
        self,
        images: Sequence[LoadedImage],
        timings: dict[str, float] | None = None,
        **options: Any,
    ) -> list[PredictionItem]:
        """Results for images already decoded (video frames), in order, without decode-ahead.

        Args:
            images: Decoded images.
            timings: If given, seconds spent per stage are added to it under ``preprocess``,
                ``model`` and ``postprocess``.
        """
        started = time.perf_counter()
        prepared = [(image, *self.preprocess(image)) for image in images]
        if timings is not None:
            timings["preprocess"] = timings.get("preprocess", 0.0) + time.perf_counter() - started
        return list(self._run(prepared, options, timings))

    def _prepare(self, item: Any) -> Prepared | ImageLoadError:
        """Decode and resize one input, or the error that stopped it."""
        try:
            image = decode_image(item, max_pixels=self.max_pixels)
        except ImageLoadError as error:
            return error
        return (image, *self.preprocess(image))

    def _run_chunk(
        self, prepared: Sequence[Prepared | ImageLoadError], options: dict[str, Any]
    ) -> Iterator[PredictionItem]:
        pending: list[Prepared] = []
        for entry in prepared:
            if isinstance(entry, ImageLoadError):
                yield from self._run(pending, options)
                pending = []
                yield PredictionItem(source=entry.source, error=entry)
            else:
                pending.append(entry)
        yield from self._run(pending, options)

    def _run(
        self,
        pending: Sequence[tuple[LoadedImage, torch.Tensor, ImageMeta]],
        options: dict[str, Any],
        timings: dict[str, float] | None = None,
    ) -> Iterable[PredictionItem]:
        if not pending:
            return []
        import torch

        started = time.perf_counter()
        tensors = [tensor for _, tensor, _ in pending]
        # Detectors take differently sized images as a list and resize them themselves.
        stack = self.task.batched_input and not self.takes_images
        batch: Any = torch.stack(tensors) if stack else tensors
        if not self.backend.takes_pixels and not self.takes_images:
            preprocessing = self.weights.preprocessing
            if isinstance(batch, list):
                batch = [normalize(pixels, preprocessing) for pixels in batch]
            else:
                batch = normalize(batch, preprocessing)
        run = getattr(self.task, "run_backend", None)  # tasks that feed the backend themselves
        outputs = run(self.backend, batch, **options) if run else self.backend(batch)
        model_done = time.perf_counter()
        metas = [meta for _, _, meta in pending]
        results = self.task.postprocess(outputs, metas, self.weights, **options)
        if timings is not None:
            timings["model"] = timings.get("model", 0.0) + model_done - started
            timings["postprocess"] = (
                timings.get("postprocess", 0.0) + time.perf_counter() - model_done
            )
        return [
            PredictionItem(source=image.source, result=result, image=image)
            for (image, _, _), result in zip(pending, results, strict=True)
        ]

    def predict(self, inputs: Any, **options: Any) -> list[Result]:
        """Results for ``inputs`` (image, path, folder, glob, or a list of them), in order.

        Raises:
            ImageLoadError: An input is not a readable image (use :meth:`stream` to skip bad ones).
        """
        results = []
        for item in self.stream(inputs, **options):
            if item.error is not None:
                raise item.error
            results.append(item.result)
        return results

    __call__ = predict
