"""Evaluate an exported classifier (``.onnx``, ``.tflite``) or any backend with the torch loop.

:func:`visiona.engine.evaluate.classify.evaluate_classifier` feeds normalised float batches to a
``torch.nn.Module``. :func:`through_backend` gives it a module that turns them back into the
uint8 pixels they were made from (exact: they came from uint8 images) and runs a pixels backend
(``onnx``, ``tflite``), so accuracy is measured on the runtime that will ship.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel


def through_backend(model: LoadedModel, backend: str | None) -> LoadedModel:
    """``model`` unchanged for ``torch`` on a PyTorch model; else wrapped to run ``backend``.

    ``backend`` ``None`` picks the file's own runtime (``onnx``/``tflite``) or ``torch``.
    """
    from torch import nn

    from visiona.engine.predict.backends import default_backend, make_backend

    name = backend or default_backend(model)
    if name == "torch" and isinstance(model.module, nn.Module):
        return model
    runner = make_backend(name, model, "cpu")
    if not getattr(runner, "takes_pixels", False):
        return replace(model, module=runner.module)  # compiled: a torch module already
    return replace(model, module=_PixelsFrontEnd(runner, model.weights.preprocessing))


def _PixelsFrontEnd(runner: Any, preprocessing: Any) -> Any:  # noqa: N802  (a class factory)
    import torch
    from torch import nn

    from visiona.ops.preprocess import normalization_constants

    scale, shift = normalization_constants(preprocessing)
    flip = preprocessing.color_order == "BGR"

    class PixelsFrontEnd(nn.Module):
        """Normalised ``(N, 3, H, W)`` float → uint8 pixels → the backend → ``(N, C)`` logits."""

        def __init__(self) -> None:
            super().__init__()
            self.runner = runner
            self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if flip:
                x = x.flip(1)
            pixels = ((x.float().cpu() - self.shift.cpu()) / self.scale.cpu()).round()
            logits = self.runner(pixels.clamp_(0, 255).to(torch.uint8))
            return torch.as_tensor(logits).to(x.device)

    return PixelsFrontEnd().eval()
