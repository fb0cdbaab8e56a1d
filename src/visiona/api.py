"""The Python API in a few functions: ``visiona.predict("classify", images)`` and friends."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiona.engine.predict.packaged import PerceptionPredictor
    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.train.fit import TrainResult
    from visiona.models.load import LoadedModel
    from visiona.models.spec import ModelSpec
    from visiona.results.base import Result


@functools.lru_cache(maxsize=4)
def _cached_predictor(
    task: str,
    model: str | None,
    pretrained: bool,
    weights_file: str | None,
    device: str,
    backend: str | None = None,
) -> Predictor:
    from visiona.engine.predict.predictor import Predictor

    return Predictor.load(
        model,
        task=task,
        pretrained=pretrained,
        weights_file=weights_file,
        device=device,
        backend=backend,
    )


PERCEPTION_TASKS = ("faces", "pose", "hands", "facemesh", "matting")


@functools.lru_cache(maxsize=4)
def _cached_perception(
    task: str, backend: str | None, options: tuple[tuple[str, Any], ...]
) -> PerceptionPredictor:
    from visiona.engine.predict.packaged import PerceptionPredictor

    return PerceptionPredictor(task, backend, **dict(options))


def predict(
    task: str,
    inputs: Any,
    *,
    model: str | Path | None = None,
    pretrained: bool = True,
    weights_file: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 8,
    roi: str | None = None,
    backend: str | None = None,
    **options: Any,
) -> list[Result]:
    """Run ``task`` on images and return one typed result per image.

    Args:
        task: ``"classify"``, ``"detect"``...; or a packaged perception task: ``"faces"``,
            ``"pose"``, ``"hands"``, ``"facemesh"``, ``"matting"`` (``model`` then names the
            backend, e.g. ``"hog"`` or ``"heavy"``, and ``options`` go to it, e.g. ``conf``).
        inputs: An image path, folder or glob, a PIL image, an ``(H, W, 3)`` uint8 RGB array,
            encoded bytes, or a list of these.
        model: Catalogue name or checkpoint path; default: the task's default model.
        pretrained: Load pretrained weights (``False``: random init, for smoke tests).
        weights_file: Use this local weights file for ``model``.
        device: ``auto``, ``cpu``, ``cuda[:N]`` or ``mps``.
        batch_size: Images per forward pass.
        roi: Only look at a region: ``"center:0.5"`` or ``"box:x0,y0,x1,y1"``.
        backend: ``torch``, ``compiled``, ``onnx`` or ``tflite`` (default: the runtime of an
            ``.onnx``/``.tflite`` file, else ``torch``).
        **options: Task options, e.g. ``top_k=5`` for classify.

    Returns:
        A list with one result per image (``Classification`` for classify).

    Example:
        >>> import visiona
        >>> [top] = visiona.predict("classify", "cat.jpg")
        >>> top.top1
        ('Egyptian cat', 0.80)
    """
    from visiona.ops.preprocess import Roi

    if task in PERCEPTION_TASKS:
        name = str(model) if model is not None else None
        perception = _cached_perception(task, name, tuple(sorted(options.items())))
        perception.roi = Roi.parse(roi) if roi else None
        return perception.predict(inputs)

    predictor = _cached_predictor(
        task,
        str(model) if model is not None else None,
        pretrained,
        str(weights_file) if weights_file is not None else None,
        device,
        backend,
    )
    predictor.batch_size = batch_size
    predictor.roi = Roi.parse(roi) if roi else None
    return predictor.predict(inputs, **options)


def load_model(model: str | Path | None = None, **kwargs: Any) -> LoadedModel:
    """Load a model by name or checkpoint; see :func:`visiona.models.load.load_model`."""
    from visiona.models.load import load_model as _load

    return _load(model, **kwargs)


def list_models(pattern: str = "*", sources: tuple[str, ...] = ("visiona",)) -> list[ModelSpec]:
    """Catalogue entries matching a glob; sources: ``visiona``, ``torchvision``, ``timm``."""
    from visiona.models.catalog import list_specs

    return list_specs(pattern, sources)


def train(task: str, *, data: str | Path, progress: bool = True, **options: Any) -> TrainResult:
    """Train a model for ``task`` on ``data``; the Python twin of ``visiona train TASK``.

    Args:
        task: ``classify``, ``detect``, ``segment-instances`` or ``keypoints``.
        data: An image folder (classify) or a COCO/YOLO/VOC data set (detection tasks).
        progress: Show progress bars on a terminal.
        **options: Any :class:`~visiona.engine.train.config.TrainConfig` field, e.g. ``model="resnet18"``,
            ``epochs=5``, ``pretrained=True``; values are converted as the CLI converts them.

    Returns:
        The run folder, checkpoints and best metrics.

    Example:
        >>> result = visiona.train("detect", data="shapes/", epochs=10)
        >>> result.best_metrics["val/map50"]
    """
    from rich.console import Console

    from visiona.engine.train.config import TrainConfig
    from visiona.engine.train.fit import train as _train

    config = TrainConfig.from_dict({**options, "task": task, "data": str(data)})
    return _train(config, console=Console(stderr=True) if progress else None, progress=progress)
