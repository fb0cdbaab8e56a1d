"""Served models: loading by registry name or local checkpoint, one batch queue per model.

A model is loaded off the event loop; a failed (re)load raises and leaves the model already
served under that name untouched. Sources are registry names, perception task names
(``faces``, ``pose``...) or local checkpoint paths — never URLs.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visiona.errors import UsageError
from visiona.serve.batching import BatchQueue

__all__ = ["ModelManager", "ServedModel", "parse_model_arg"]

_PERCEPTION = ("faces", "pose", "hands", "facemesh", "matting")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclass
class ServedModel:
    """A model being served.

    Attributes:
        name: Name in the URL (``/v1/models/{name}:predict``).
        source: Registry name or checkpoint path it was loaded from.
        task: Task name.
        predictor: A ``Predictor`` or ``PerceptionPredictor``.
        queue: Its micro-batching queue.
        version: Increases by one at each successful (re)load under this name.
    """

    name: str
    source: str
    task: str
    predictor: Any
    queue: BatchQueue
    version: int = 1
    info: dict[str, Any] = field(default_factory=dict)


def parse_model_arg(arg: str) -> tuple[str, str]:
    """``[NAME=]SOURCE`` → ``(name, source)``; the name defaults to the source's stem."""
    name, sep, source = arg.partition("=")
    if not sep:
        source = arg
        stem = re.sub(r"\.safetensors$", "", source.rstrip("/").replace("\\", "/").split("/")[-1])
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem) or "model"
    return name, source


def check_source(source: str) -> None:
    """Refuse what cannot be a model: empty, a folder, control characters, a URL.

    Models come from local files or registry names only.

    Raises:
        UsageError: One line saying what is wrong with ``source``.
    """
    hint = "give a registry name (e.g. resnet18), a task (faces), or a .safetensors/.onnx file"
    if not source.strip():
        raise UsageError("model source is empty", hint=hint)
    if len(source) > 4096 or any(ord(char) < 32 or ord(char) == 127 for char in source):
        raise UsageError("model source holds control characters or is too long", hint=hint)
    if _URL.match(source):
        raise UsageError(
            f"model source {source!r} is a URL; only registry names and local paths are loaded",
            hint="download the file yourself, then pass its local path",
        )
    try:
        is_dir = Path(source).expanduser().is_dir()
    except (OSError, ValueError):
        is_dir = False
    if is_dir or source.strip() in (".", ".."):
        raise UsageError(f"model source {source!r} is a folder, not a model file", hint=hint)


def _build_predictor(
    source: str, task: str | None, pretrained: bool, device: str = "auto"
) -> tuple[Any, str]:
    if source in _PERCEPTION:
        from visiona.engine.predict.packaged import PerceptionPredictor

        return PerceptionPredictor(source), source
    from visiona.engine.predict.predictor import Predictor
    from visiona.models.catalog import get_spec
    from visiona.weights.checkpoint import checkpoint_path, read_checkpoint_info

    checkpoint = checkpoint_path(source)
    if task is None:
        if source.lower().endswith((".onnx", ".tflite")):
            # An exported file carries its Weights record; the Predictor picks its runtime.
            from visiona.errors import InputNotFoundError
            from visiona.models.onnx.read import read_onnx
            from visiona.models.tflite.read import read_tflite

            path = Path(source).expanduser()
            if not path.is_file():
                raise InputNotFoundError(f"model file not found: {source!r}")
            reader = read_tflite if path.suffix.lower() == ".tflite" else read_onnx
            with warnings.catch_warnings():  # loading warns once, about a foreign .tflite
                warnings.simplefilter("ignore")
                task = reader(path).weights.task
        elif checkpoint is not None:
            task = read_checkpoint_info(checkpoint).weights.task
        else:
            task = get_spec(source)[0].task
    predictor = Predictor.load(
        source, task=task, pretrained=pretrained, batch_size=1, device=device
    )
    return predictor, task


def _packaged_record(task: str, backend: str) -> Any:
    """The packaged weights record of a perception model (for its description and license)."""
    from visiona.models.packaged import PACKAGED_WEIGHTS

    records = [w for w in PACKAGED_WEIGHTS.values() if w.task == task]
    for record in records:
        if backend in (record.tag, record.model) or record.model.startswith(backend):
            return record
    return records[0] if records else None


def _model_info(predictor: Any, task: str) -> dict[str, Any]:
    """What the page and ``GET /v1/models`` show: classes, input size, source, license."""
    model = predictor.model
    weights = model.weights
    if predictor.takes_images:  # packaged perception models: own preprocessing
        record = _packaged_record(task, str(model.architecture))
        return {
            "classes": [],
            "input_size": None,
            "backend": model.architecture,
            "description": record.description if record else weights.description,
            "license": record.license if record else weights.license,
            "origin": record.urls[0] if record and record.urls else "",
        }
    size = getattr(weights.preprocessing, "input_size", None)
    return {
        "classes": list(weights.class_names),
        "input_size": list(size) if isinstance(size, tuple | list) else size,
        "backend": type(predictor.backend).__name__,
        "architecture": model.architecture,
        "weights": weights.full_name,
        "description": weights.description,
        "license": weights.license,
        "origin": weights.urls[0] if weights.urls else "",
    }


def make_runner(predictor: Any, task: str) -> Callable[[Sequence[Any], dict[str, Any]], list[Any]]:
    """The batch function for one model: decoded images (``LoadedImage``) → results, one forward pass.

    Every task, packaged perception models included, runs through the Predictor's own steps.
    """

    def run_batch(payloads: Sequence[Any], options: dict[str, Any]) -> list[Any]:
        import torch

        # Preprocessing runs here, in the model's one worker thread, not in the request threads:
        # concurrent torch ops from many threads oversubscribe the CPU cores.
        with torch.inference_mode():
            pending = [(image, *predictor.preprocess(image)) for image in payloads]
            items = predictor._run(pending, options)
        return [item.result for item in items]

    return run_batch


class ModelManager:
    """Loads, replaces and unloads served models (thread-safe).

    Args:
        max_batch: Largest batch per model (1: batching off).
        max_wait_ms: Batching window.
        max_queue: Queue bound per model.
        on_batch: Called with ``(model name, batch size)`` after each batch is formed.
    """

    def __init__(
        self,
        *,
        max_batch: int = 8,
        max_wait_ms: float = 5.0,
        max_queue: int = 64,
        max_pixels: int | None = None,
        on_batch: Callable[[str, int], None] | None = None,
        device: str = "auto",
    ) -> None:
        self.device = device
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self.max_pixels = max_pixels
        self._on_batch = on_batch
        self._models: dict[str, ServedModel] = {}
        self._lock = threading.Lock()
        self.loading = 0

    def get(self, name: str) -> ServedModel | None:
        return self._models.get(name)

    def all(self) -> list[ServedModel]:
        return list(self._models.values())

    def load(
        self, name: str, source: str, *, task: str | None = None, pretrained: bool = True
    ) -> ServedModel:
        """Load ``source`` and serve it as ``name``; on failure the old model stays served.

        Raises:
            UsageError: Bad name or a URL source.
            VisionaError: The model cannot be loaded (unknown name, missing file...).
        """
        if not _NAME.match(name):
            raise UsageError(f"model name {name!r} must be 1-64 letters, digits, '_', '-', '.'")
        check_source(source)
        with self._lock:
            self.loading += 1
        try:
            predictor, task = _build_predictor(source, task, pretrained, self.device)
        finally:
            with self._lock:
                self.loading -= 1
        if hasattr(predictor, "max_pixels"):
            predictor.max_pixels = self.max_pixels
        on_batch = self._on_batch
        perception = task in _PERCEPTION
        queue = BatchQueue(
            make_runner(predictor, task),
            max_batch=1 if perception else self.max_batch,
            max_wait_ms=self.max_wait_ms,
            max_queue=self.max_queue,
            on_batch=(lambda size: on_batch(name, size)) if on_batch else None,
            name=name,
        )
        with self._lock:
            old = self._models.get(name)
            served = ServedModel(
                name, source, task, predictor, queue, (old.version + 1) if old else 1,
                _model_info(predictor, task),
            )  # fmt: skip
            self._models[name] = served
        if old is not None:
            threading.Thread(target=old.queue.close, daemon=True).start()
        return served

    def unload(self, name: str) -> bool:
        """Stop serving ``name`` (its queued requests still finish); False if unknown."""
        with self._lock:
            served = self._models.pop(name, None)
        if served is None:
            return False
        threading.Thread(target=served.queue.close, daemon=True).start()
        return True

    def close(self) -> None:
        """Finish every queue (graceful shutdown)."""
        with self._lock:
            models, self._models = list(self._models.values()), {}
        for served in models:
            served.queue.close()
