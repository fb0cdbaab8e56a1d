"""PyTorch classifier → in-memory TFLite flatbuffer (uint8 NHWC pixels in, metadata inside).

The conversion is litert-torch's (``torch.export`` → StableHLO → the LiteRT converter). Shared by
``visiona export --format tflite`` (which verifies the result before writing it) and by the
``tflite`` backend (a PyTorch model asked to run on LiteRT is converted in memory, unverified).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from visiona.errors import MissingDependencyError, VisionaError
from visiona.models.tflite.format import (
    METADATA_NAME,
    TFLITE_EXTRA,
    TfliteModel,
    metadata_for,
    native_stderr_silenced,
    with_metadata,
)
from visiona.tasks.base import get_task

if TYPE_CHECKING:
    from torch import nn

    from visiona.models.load import LoadedModel
    from visiona.weights.record import Preprocessing


class UnsupportedModelError(VisionaError):
    """The converter cannot turn this network into TFLite (exit code 2: use ONNX)."""

    exit_code = 2


def require_litert_torch() -> Any:
    """Import ``litert_torch`` (the PyTorch → LiteRT converter) or name the extra."""
    try:
        with _quiet(), native_stderr_silenced():  # absl/oneDNN lines at import
            import litert_torch
    except ImportError:
        raise MissingDependencyError(
            "the TFLite converter (litert-torch) is not installed",
            hint=f"install it with: {TFLITE_EXTRA}",
        ) from None
    return litert_torch


def to_tflite(model: LoadedModel) -> TfliteModel:
    """Convert a loaded classifier to a TFLite flatbuffer with visiona metadata (not verified).

    Raises:
        UnsupportedModelError: A detector, or a network with an op the converter cannot lower
            (the message names the op and suggests ONNX).
    """
    import torch

    if not get_task(model.task).batched_input or model.task != "classify":
        raise UnsupportedModelError(
            f"{model.architecture} is a {model.task} model; TFLite export covers classifiers "
            "(torch.export cannot trace the data-dependent box filtering and NMS of torchvision "
            "detectors)",
            hint=f"export it with: visiona export {model.source} --format onnx",
        )
    litert_torch = require_litert_torch()
    record = model.weights
    height, width = record.preprocessing.input_size
    wrapper = pixels_nhwc_wrapper(model.module.eval(), record.preprocessing)
    generator = torch.Generator().manual_seed(0)
    example = torch.randint(0, 256, (1, height, width, 3), dtype=torch.uint8, generator=generator)
    try:
        with _quiet(), torch.no_grad():
            converted = litert_torch.convert(wrapper, (example,))
        flatbuffer = converted.model_content()
    except Exception as error:  # the converter raises many kinds; all mean "cannot convert"
        raise unsupported(model, error) from None
    metadata = metadata_for(record, model.architecture, arch_options=model.arch_options)
    content = json.dumps(metadata).encode()
    return TfliteModel(
        model_bytes=with_metadata(bytes(flatbuffer), METADATA_NAME, content),
        weights=record,
        architecture=model.architecture,
        arch_options=dict(model.arch_options),
    )


_OP = re.compile(r"(?:torch\.ops\.)?(?:aten|torchvision|prims|stablehlo|chlo|tfl)[.:][\w.]+")


def unsupported(model: LoadedModel, error: Exception) -> UnsupportedModelError:
    """One line naming the op (or the first line of the converter's message) and ONNX."""
    text = str(error).strip()
    ops = _OP.findall(text)
    what = f"unsupported op {ops[0]}" if ops else (text.splitlines() or [type(error).__name__])[0]
    return UnsupportedModelError(
        f"litert-torch cannot convert {model.architecture} to TFLite: {what[:200]}",
        hint=f"export it to ONNX instead: visiona export {model.source} --format onnx",
    )


def pixels_nhwc_wrapper(module: nn.Module, preprocessing: Preprocessing) -> nn.Module:
    """``module`` behind a ``(N, H, W, 3)`` uint8 → normalised ``(N, 3, H, W)`` float front end."""
    import torch
    from torch import nn

    from visiona.ops.preprocess import normalization_constants

    scale, shift = normalization_constants(preprocessing)
    flip = preprocessing.color_order == "BGR"

    class PixelsNHWC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module
            self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1), persistent=False)

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            x = pixels.permute(0, 3, 1, 2).to(torch.float32) * self.scale + self.shift
            if flip:
                x = x.flip(1)
            return self.inner(x)

    return PixelsNHWC().eval()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the converter's progress lines, absl logging and Python warnings."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    logging.getLogger("absl").setLevel(logging.ERROR)
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield
