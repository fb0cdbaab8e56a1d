"""Inference backends: what runs the network on a preprocessed batch.

A backend takes a ``(N, 3, H, W)`` float32 tensor — or, for tasks whose networks take images of
different sizes (torchvision detectors), a list of ``(3, H_i, W_i)`` tensors — and returns the
model's raw output (a tensor, a dict of tensors or a list of dicts) on the CPU. Backends: ``torch``
(eager), ``compiled`` (``torch.compile``), ``onnx`` (ONNX Runtime,
:mod:`visiona.engine.predict.onnx_backend`), ``tflite`` (LiteRT with XNNPACK,
:mod:`visiona.engine.predict.tflite_backend`) and ``packaged`` (packaged perception models that take
whole images); the Predictor does not change with the backend.

A backend whose ``takes_pixels`` is true receives **uint8** pixels (already resized) and
normalises them itself (an exported ONNX graph does it as its first nodes); the others receive the
normalised float32 batch. A backend whose ``takes_images`` is true receives the decoded images
themselves, ``(H_i, W_i, 3)`` uint8 RGB arrays, and returns one typed result per image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from visiona.errors import UsageError
from visiona.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import torch

    from visiona.models.load import LoadedModel


class Backend(Protocol):
    """Runs a network on preprocessed batches."""

    name: str
    device: str
    takes_pixels: bool

    def __call__(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> Any:
        """``(N, 3, H, W)`` float32 (or a list of ``(3, H_i, W_i)``) → raw outputs on the CPU."""
        ...


BACKENDS: Registry[Callable[..., Backend]] = Registry("backend")


def resolve_device(device: str | None) -> str:
    """Check a device string; ``None``/``"auto"`` picks CUDA, then Apple MPS, then the CPU."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise UsageError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} asked for, but CUDA is not available here")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError("device 'mps' asked for, but Apple MPS is not available here")
    return str(parsed)


@BACKENDS.register("torch")
class TorchBackend:
    """PyTorch eager execution on one device, in inference mode."""

    name = "torch"
    takes_pixels = False

    def __init__(self, model: LoadedModel, device: str | None = "auto") -> None:
        from torch import nn

        if not isinstance(model.module, nn.Module):
            kind = "an ONNX" if type(model.module).__name__ == "OnnxModel" else "a TFLite"
            raise UsageError(
                f"backend {self.name!r} needs a PyTorch model; {model.source} is {kind} file",
                hint="use --backend onnx or tflite (the default for .onnx and .tflite files)",
            )
        self.device = resolve_device(device)
        self.module = model.module.eval().to(self.device)

    def __call__(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> Any:
        import torch

        if isinstance(batch, torch.Tensor):
            inputs: Any = batch.to(self.device, non_blocking=True)
        else:
            inputs = [image.to(self.device, non_blocking=True) for image in batch]
        with torch.inference_mode():
            outputs = self.module(inputs)
        return outputs_to_cpu(outputs)


def outputs_to_cpu(outputs: Any) -> Any:
    """Tensors (also inside dicts, lists and tuples) moved to the CPU; floating ones as float32.

    Integer tensors (a detector's class labels) keep their dtype.
    """
    import torch

    if isinstance(outputs, torch.Tensor):
        return (outputs.float() if outputs.is_floating_point() else outputs).cpu()
    if isinstance(outputs, dict):
        return {key: outputs_to_cpu(value) for key, value in outputs.items()}
    if isinstance(outputs, list):
        return [outputs_to_cpu(value) for value in outputs]
    if isinstance(outputs, tuple):
        values = [outputs_to_cpu(value) for value in outputs]
        return type(outputs)(*values) if hasattr(outputs, "_fields") else tuple(values)
    return outputs


@BACKENDS.register("compiled")
class CompiledBackend(TorchBackend):
    """``torch.compile`` (Inductor) of the eager module; the first batch of each new shape
    compiles (tens of seconds for a ResNet on a CPU), later ones reuse the compiled code."""

    name = "compiled"

    def __init__(self, model: LoadedModel, device: str | None = "auto") -> None:
        import torch

        super().__init__(model, device)
        self.module = torch.compile(self.module, dynamic=False)


def _onnx_backend(model: LoadedModel, device: str | None) -> Backend:
    from visiona.engine.predict.onnx_backend import OnnxBackend

    return OnnxBackend(model, device)


BACKENDS.add("onnx", _onnx_backend)  # ONNX Runtime is imported only when asked for


def _tflite_backend(model: LoadedModel, device: str | None) -> Backend:
    from visiona.engine.predict.tflite_backend import TfliteBackend

    return TfliteBackend(model, device)


BACKENDS.add("tflite", _tflite_backend)  # LiteRT (XNNPACK), imported only when asked for


@BACKENDS.register("packaged")
class PackagedBackend:
    """A packaged perception model (MediaPipe, dlib, OpenCV, MTCNN): a callable that takes one
    ``(H, W, 3)`` uint8 RGB image and returns its typed result; it runs on the CPU in its own
    runtime and preprocesses internally."""

    name = "packaged"
    takes_pixels = True
    takes_images = True

    def __init__(self, model: LoadedModel, device: str | None = "auto") -> None:
        if not takes_whole_images(model):
            raise UsageError(
                f"backend {self.name!r} runs packaged perception models; "
                f"{model.source} is a {model.task} network",
                hint="use --backend torch or onnx",
            )
        if device not in (None, "", "auto", "cpu"):
            raise UsageError(f"packaged {model.task} models run on the CPU; got --device {device}")
        self.device = "cpu"
        self.module = model.module

    def __call__(self, batch: Sequence[np.ndarray]) -> list[Any]:
        """``(H_i, W_i, 3)`` uint8 RGB images → one result per image."""
        return [self.module(image) for image in batch]


def takes_whole_images(model: LoadedModel) -> bool:
    """Whether ``model`` is a packaged callable taking whole decoded images: every model of a
    perception task, and packaged models of other tasks (dlib face embeddings)."""
    from visiona.tasks.base import get_task

    return get_task(model.task).whole_images or getattr(model.module, "takes_images", False)


def make_backend(name: str, model: LoadedModel, device: str | None) -> Backend:
    """Instantiate backend ``name`` (``torch``, ``compiled``, ``onnx``, ``packaged``)."""
    return BACKENDS.get(name)(model, device)


def default_backend(model: LoadedModel) -> str:
    """``packaged`` for packaged perception models, ``onnx`` for a model read from an ``.onnx``
    file, ``tflite`` for a ``.tflite`` file, else ``torch``."""
    from visiona.models.onnx.format import OnnxModel
    from visiona.models.tflite.format import TfliteModel

    if takes_whole_images(model):
        return "packaged"
    if isinstance(model.module, TfliteModel):
        return "tflite"
    return "onnx" if isinstance(model.module, OnnxModel) else "torch"
