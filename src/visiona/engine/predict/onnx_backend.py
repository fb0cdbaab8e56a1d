"""The ONNX Runtime backend: runs a visiona ONNX graph (uint8 pixels in, raw outputs out).

A model read from an ``.onnx`` file runs as it is; a PyTorch model asked to run with
``backend="onnx"`` is exported in memory first (no file written, not verified: use
``visiona export`` for a checked file).

Threads: ONNX Runtime gets one intra-op thread per core the process may use and no inter-op
pool, and its workers do not spin between batches; the Predictor's decoding runs between
``run`` calls, so the two never fight for the same cores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError
from visiona.models.onnx.format import INPUT_NAME, OnnxModel, require_onnxruntime

if TYPE_CHECKING:
    import torch

    from visiona.models.load import LoadedModel


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def session_for(model_bytes: bytes, threads: int | None = None, *, spin: bool = False) -> Any:
    """An ONNX Runtime CPU session for a serialized graph.

    Args:
        model_bytes: The ``.onnx`` content.
        threads: Intra-op threads (default: :func:`available_cores`).
        spin: Let idle workers busy-wait (lowest latency when nothing else needs the cores,
            as in a model-only benchmark).
    """
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or available_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


class OnnxBackend:
    """ONNX Runtime on the CPU.

    Args:
        model: A loaded model whose ``module`` is an :class:`OnnxModel` (read from a file) or a
            PyTorch module (exported in memory).
        device: ``auto`` or ``cpu``; other devices are refused (CPU execution provider only).
        threads: Intra-op threads (default: the cores available to the process).
    """

    name = "onnx"
    takes_pixels = True

    def __init__(
        self, model: LoadedModel, device: str | None = "auto", threads: int | None = None
    ) -> None:
        if device not in (None, "", "auto", "cpu"):
            raise UsageError(f"the onnx backend runs on the CPU; got --device {device}")
        self.device = "cpu"
        graph = model.module
        if not isinstance(graph, OnnxModel):
            from torch import nn

            from visiona.models.onnx.convert import to_onnx

            if not isinstance(graph, nn.Module):
                raise UsageError(
                    f"the onnx backend runs .onnx files and PyTorch models; {model.source} is "
                    "neither",
                    hint="use --backend tflite for a .tflite file",
                )

            graph = to_onnx(model)
        self.graph = graph
        self.session = session_for(graph.model_bytes, threads)

    def __call__(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> Any:
        """``(N, 3, H, W)`` uint8 → ``(N, C)`` logits; a list of ``(3, H_i, W_i)`` uint8 → one
        output dict per image (detectors run one image per call)."""
        import torch

        if self.graph.batched:
            pixels = batch if isinstance(batch, torch.Tensor) else torch.stack(list(batch))
            (logits,) = self.session.run(None, {INPUT_NAME: _numpy_uint8(pixels)})
            return torch.from_numpy(logits)
        outputs = []
        if self.graph.kind != "visiona":
            from visiona.models.onnx.ultralytics import run_yolo

            return [run_yolo(self.session, self.graph, image) for image in batch]
        for image in batch:
            values = self.session.run(None, {INPUT_NAME: _numpy_uint8(image)})
            outputs.append(
                {
                    name: torch.from_numpy(np.asarray(value))
                    for name, value in zip(self.graph.outputs, values, strict=True)
                }
            )
        return outputs


def _numpy_uint8(tensor: torch.Tensor) -> np.ndarray:
    import torch

    if tensor.dtype != torch.uint8:
        raise TypeError(f"the onnx backend takes uint8 pixels, got {tensor.dtype}")
    return np.ascontiguousarray(tensor.numpy())
