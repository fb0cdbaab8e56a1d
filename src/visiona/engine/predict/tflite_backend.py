"""The LiteRT (TFLite) backend: runs a ``.tflite`` classifier with the XNNPACK CPU delegate.

A model read from a ``.tflite`` file runs as it is; a PyTorch model asked to run with
``backend="tflite"`` is converted in memory first (tens of seconds; not verified: use
``visiona export --format tflite`` for a checked file). visiona's files take one ``(1, H, W, 3)``
uint8 image per call, so a batch is run image by image, as a phone would. Foreign files get their
input adapted: channels first or last, float inputs normalised with the record's mean/std, int8
inputs shifted by 128; quantized outputs are dequantized.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError
from visiona.models.tflite.format import TfliteModel, native_stderr_silenced, require_litert

if TYPE_CHECKING:
    import torch

    from visiona.models.load import LoadedModel


def interpreter_for(model_bytes: bytes, threads: int | None = None) -> Any:
    """A LiteRT interpreter with XNNPACK (the default CPU delegate), tensors allocated."""
    from visiona.engine.predict.onnx_backend import available_cores

    litert = require_litert()
    with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = litert.Interpreter(
            model_content=model_bytes, num_threads=threads or available_cores()
        )
        interpreter.allocate_tensors()
    return interpreter


class TfliteBackend:
    """LiteRT on the CPU.

    Args:
        model: A loaded model whose ``module`` is a :class:`TfliteModel` (read from a file) or a
            PyTorch classifier (converted in memory).
        device: ``auto`` or ``cpu``; other devices are refused.
        threads: Interpreter threads (default: the cores available to the process).
    """

    name = "tflite"
    takes_pixels = True

    def __init__(
        self, model: LoadedModel, device: str | None = "auto", threads: int | None = None
    ) -> None:
        if device not in (None, "", "auto", "cpu"):
            raise UsageError(f"the tflite backend runs on the CPU; got --device {device}")
        self.device = "cpu"
        graph = model.module
        if not isinstance(graph, TfliteModel):
            from visiona.models.onnx.format import OnnxModel

            if isinstance(graph, OnnxModel):
                raise UsageError(
                    f"{model.source} is an ONNX file; the tflite backend runs .tflite files "
                    "and PyTorch models",
                    hint="use --backend onnx, or export a .tflite: visiona export MODEL "
                    "--format tflite",
                )
            from visiona.models.tflite.convert import to_tflite

            graph = to_tflite(model)
        self.graph = graph
        self.interpreter = interpreter_for(graph.model_bytes, threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._lock = threading.Lock()
        height, width = graph.weights.preprocessing.input_size
        self._channels_last = bool(graph.arch_options.get("channels_last", True))
        if graph.kind != "visiona":
            self._fit_input(height, width)

    def _fit_input(self, height: int, width: int) -> None:
        """Resize a foreign model's input to the record's size if they differ."""
        shape = [1, height, width, 3] if self._channels_last else [1, 3, height, width]
        if [int(v) for v in self._input["shape"]] != shape:
            try:
                self.interpreter.resize_tensor_input(self._input["index"], shape)
                self.interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as error:
                raise UsageError(
                    f"{self.graph.path}: its input cannot take {height}×{width} ({error})",
                    hint="drop --input-size to use the size the file was made for",
                ) from None
            self._input = self.interpreter.get_input_details()[0]
            self._output = self.interpreter.get_output_details()[0]

    def __call__(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """``(N, 3, H, W)`` uint8 pixels → ``(N, C)`` float32 logits (one image per call)."""
        import torch

        pixels = batch if isinstance(batch, torch.Tensor) else torch.stack(list(batch))
        if pixels.dtype != torch.uint8:
            raise TypeError(f"the tflite backend takes uint8 pixels, got {pixels.dtype}")
        images = pixels.numpy()
        rows = []
        with self._lock:
            for image in images:
                self.interpreter.set_tensor(self._input["index"], self._prepare(image))
                self.interpreter.invoke()
                rows.append(self._dequantize(self.interpreter.get_tensor(self._output["index"])))
        logits = np.concatenate([row.reshape(1, -1) for row in rows], axis=0)
        return torch.from_numpy(logits)

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        """One ``(3, H, W)`` uint8 image → the input tensor's layout and dtype."""
        array = image.transpose(1, 2, 0) if self._channels_last else image
        dtype = self._input["dtype"]
        if self.graph.kind == "visiona" or dtype == np.uint8:
            return np.ascontiguousarray(array[None], dtype=np.uint8)
        if dtype == np.int8:
            return np.ascontiguousarray((array.astype(np.int16) - 128)[None], dtype=np.int8)
        preprocessing = self.graph.weights.preprocessing
        shape = (1, 1, 3) if self._channels_last else (3, 1, 1)
        mean = np.asarray(preprocessing.mean, dtype=np.float32).reshape(shape)
        std = np.asarray(preprocessing.std, dtype=np.float32).reshape(shape)
        return ((array.astype(np.float32) / 255.0 - mean) / std)[None].astype(dtype)

    def _dequantize(self, values: np.ndarray) -> np.ndarray:
        scale, zero_point = self._output.get("quantization", (0.0, 0))
        if values.dtype.kind in "iu" and scale:
            return (values.astype(np.float32) - zero_point) * np.float32(scale)
        return values.astype(np.float32, copy=False)
