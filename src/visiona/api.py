"""The Python API in a few functions: ``visiona.predict("classify", images)`` and friends."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiona.engine.predict.packaged import PerceptionPredictor
    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.train.fit import TrainResult
    from visiona.models.load import LoadedModel
    from visiona.models.spec import ModelSpec
    from visiona.results.base import Result
    from visiona.results.explanation import Explanation


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
    stream: bool = False,
    **options: Any,
) -> list[Result] | Iterator[Any]:
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
        stream: Return an iterator instead of a list. With a video source (``clip.mp4``, a
            camera ``0``, ``rtsp://…``/``http://…`` stream, ``frames/%04d.png``) it yields one
            :class:`~visiona.engine.predict.video.FramePrediction` per frame (index, timestamp,
            result, latency); video keywords: ``every``, ``start``, ``end`` (seconds),
            ``max_frames``, ``track`` (``bytetrack``/``sort``/``ocsort``), ``count_line``.
        **options: Task options, e.g. ``top_k=5`` for classify; ``labels=["cat", "dog"]``
            with ``model="clip"`` classifies zero-shot.

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
        model_options = {k: v for k, v in options.items() if k not in _VIDEO_KEYS}
        perception = _cached_perception(task, name, tuple(sorted(model_options.items())))
        perception.roi = Roi.parse(roi) if roi else None
        if stream:
            from visiona.engine.predict.video import stream_results

            return stream_results(perception, inputs, **_video_options(options))
        return perception.predict(inputs)

    if task == "classify" and options.get("labels") is not None:  # zero-shot CLIP/SigLIP
        return _zero_shot(inputs, model, options.pop("labels"), device, batch_size, options)
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
    if stream:
        from visiona.engine.predict.video import stream_results

        return stream_results(predictor, inputs, **options)
    return predictor.predict(inputs, **options)


_VIDEO_KEYS = ("every", "start", "end", "max_frames", "track", "count_line", "fps")


def _video_options(options: dict[str, Any]) -> dict[str, Any]:
    """Perception models take their options when built; only video keywords are left here."""
    return {key: options[key] for key in _VIDEO_KEYS if key in options}


def _zero_shot(
    inputs: Any, model: Any, labels: Any, device: str, batch_size: int, options: dict[str, Any]
) -> list[Result]:
    from visiona.engine.predict.predictor import Predictor
    from visiona.models.embedders import zero_shot_model

    names = labels.split(",") if isinstance(labels, str) else list(labels)
    loaded = zero_shot_model(None if model is None else str(model), names)
    return Predictor(loaded, device=device, batch_size=batch_size).predict(inputs, **options)


def embed(
    inputs: Any,
    *,
    model: str | Path | None = None,
    normalize: bool = True,
    device: str = "auto",
    batch_size: int = 8,
    **kwargs: Any,
) -> list[Result]:
    """One :class:`~visiona.results.Embeddings` vector per image; the twin of ``visiona predict embed``.

    Args:
        inputs: Images, paths, folders or globs (as for :func:`predict`).
        model: ``efficientnet_lite0`` (default, offline), any catalogue classifier or classify
            checkpoint (pooled features), ``clip``/``clip-vit-b32``, ``dinov2-small``,
            ``dinov2-base``, ``siglip-base`` (transformers), or ``dlib-face``.
        normalize: Unit-length vectors (cosine similarity = dot product).

    Example:
        >>> a, b = visiona.embed(["cat.jpg", "dog.jpg"])
        >>> a.similarity(b)
    """
    return predict(
        "embed",
        inputs,
        model=model,
        device=device,
        batch_size=batch_size,
        normalize=normalize,
        **kwargs,
    )


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
        task: ``classify``, ``detect``, ``segment-instances``, ``keypoints`` or ``segment``.
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

    if task == "classify" and ("head" in options or "backbone" in options):
        from visiona.engine.train.light_head import LightHeadConfig, train_light_head

        light = LightHeadConfig(data=str(data), **options)
        return train_light_head(light, console=Console(stderr=True) if progress else None)

    config = TrainConfig.from_dict({**options, "task": task, "data": str(data)})
    return _train(config, console=Console(stderr=True) if progress else None, progress=progress)


def explain(
    inputs: Any,
    *,
    model: str | Path | None = None,
    method: str | None = None,
    target: str | int | None = None,
    layer: str | None = None,
    pretrained: bool = True,
    aug_smooth: bool = False,
    eigen_smooth: bool = False,
) -> list[Explanation]:
    """Class-activation heat maps (Grad-CAM family) of a classifier, one per image.

    Args:
        inputs: Image path, folder, glob, PIL image, ``(H, W, 3)`` uint8 array, or a list.
        model: Classifier name or checkpoint (default: the classify task's default).
        method: ``gradcam``, ``gradcam++``, ``xgradcam``, ``layercam``, ``eigencam``...
        target: Class name or index to explain (default: each image's top-1).
        layer: Layer name (default: chosen per architecture).
        pretrained: Pretrained weights (``False``: random init).
        aug_smooth: Average over flips and scales.
        eigen_smooth: First principal component of the weighted activations.

    Returns:
        One :class:`~visiona.results.Explanation` per image (heat map at the image's size).

    Raises:
        ImageLoadError: An input is not a readable image.
    """
    from visiona.engine.explain import explain_images
    from visiona.errors import ImageLoadError
    from visiona.models.load import load_model as _load

    loaded = _load(model, task="classify", pretrained=pretrained)
    results = []
    for _source, explanation, image in explain_images(
        loaded, inputs, target=target, method=method, layer=layer,
        aug_smooth=aug_smooth, eigen_smooth=eigen_smooth,
    ):  # fmt: skip
        if explanation is None:
            assert isinstance(image, ImageLoadError)
            raise image
        results.append(explanation)
    return results
