"""Optional INT8: ONNX Runtime dynamic and static quantization of a visiona ONNX classifier.

* ``dynamic``: weights stored as int8, activations quantized on the fly per batch; needs no data.
* ``static``: weights and activations int8 (QDQ format, per-channel weights), activation ranges
  calibrated by running a folder of images through the float model with the model's own
  preprocessing.

The quantized file keeps the Weights record (plus ``visiona.quantization``), so it loads like
any other export. :func:`accuracy_change` reports what quantization cost on a labelled folder.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from visiona.errors import UsageError
from visiona.models.onnx.format import INPUT_NAME, OnnxModel, require_onnxruntime

QuantMode = Literal["dynamic", "static"]
QUANT_MODES = ("dynamic", "static")
MAX_CALIBRATION_IMAGES = 256


def quantize(
    graph: OnnxModel,
    mode: str,
    *,
    calibration: str | Path | Sequence[Any] | None = None,
    batch_size: int = 8,
) -> OnnxModel:
    """An int8 copy of ``graph``.

    Args:
        graph: A visiona ONNX classifier.
        mode: ``dynamic`` or ``static``.
        calibration: For ``static``: a folder (searched recursively), glob or list of images.
        batch_size: Images per calibration batch.

    Raises:
        UsageError: Unknown mode, a detector, or static without calibration images.
    """
    require_onnxruntime()
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    if mode not in QUANT_MODES:
        raise UsageError(f"unknown quantization {mode!r}; use dynamic or static")
    if not graph.batched:
        raise UsageError("INT8 quantization is available for classifiers only")
    if mode == "static" and not calibration:
        raise UsageError(
            "static quantization needs calibration images: pass --calibration DIR",
            hint="a few hundred images like the ones the model will see; or use --int8 dynamic",
        )
    with tempfile.TemporaryDirectory(prefix="visiona-int8-") as tmp:
        source, target = Path(tmp, "fp32.onnx"), Path(tmp, "int8.onnx")
        source.write_bytes(graph.model_bytes)
        _preprocess_for_quantization(source)
        if mode == "dynamic":
            quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        else:
            reader = _CalibrationReader(graph, calibration, batch_size)
            quantize_static(
                source,
                target,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        proto = onnx.load(str(target))
    source_meta = {
        prop.key: prop.value for prop in onnx.load_from_string(graph.model_bytes).metadata_props
    }
    source_meta["visiona.quantization"] = f"int8-{mode}"
    onnx.helper.set_model_props(proto, source_meta)
    return OnnxModel(
        model_bytes=proto.SerializeToString(),
        weights=graph.weights,
        architecture=graph.architecture,
        batched=True,
        outputs=graph.outputs,
        arch_options=graph.arch_options,
    )


def _preprocess_for_quantization(path: Path) -> None:
    """Shape inference and graph clean-up ONNX Runtime recommends before quantizing."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # An optional step: quantization works without it, only less well.
    with contextlib.suppress(Exception):
        quant_pre_process(str(path), str(path), skip_symbolic_shape=True)


class _CalibrationReader:
    """Feeds calibration batches (uint8 pixels, preprocessed as the record says)."""

    def __init__(self, graph: OnnxModel, calibration: Any, batch_size: int) -> None:
        from visiona.data.sources import gather_inputs

        items = calibration if isinstance(calibration, list | tuple) else [calibration]
        self.files = [str(item) if isinstance(item, Path) else item for item in items]
        self.inputs = gather_inputs(self.files)[:MAX_CALIBRATION_IMAGES]
        self.preprocessing = graph.weights.preprocessing
        self.batch_size = batch_size
        self._batches: Iterator[dict[str, np.ndarray]] | None = None

    def _generate(self) -> Iterator[dict[str, np.ndarray]]:
        import torch

        from visiona.errors import ImageLoadError
        from visiona.io.fast_decode import decode_image
        from visiona.ops.preprocess import resize_pixels

        pending: list[torch.Tensor] = []
        for item in self.inputs:
            try:
                image = decode_image(item)
            except ImageLoadError:
                continue  # calibration tolerates a bad file; prediction reports them
            pending.append(resize_pixels(image.array, self.preprocessing))
            if len(pending) == self.batch_size:
                yield {INPUT_NAME: torch.stack(pending).numpy()}
                pending = []
        if pending:
            yield {INPUT_NAME: torch.stack(pending).numpy()}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._batches is None:
            self._batches = self._generate()
        return next(self._batches, None)

    def rewind(self) -> None:
        self._batches = None


@dataclass(frozen=True)
class AccuracyChange:
    """Top-1 accuracy of the float and the int8 model on the same labelled images."""

    images: int
    float_accuracy: float
    int8_accuracy: float
    agreement: float

    @property
    def change(self) -> float:
        """Accuracy points gained (negative: lost) by quantizing."""
        return self.int8_accuracy - self.float_accuracy

    def to_dict(self) -> dict[str, float | int]:
        return {
            "images": self.images,
            "float_top1": self.float_accuracy,
            "int8_top1": self.int8_accuracy,
            "change": self.change,
            "top1_agreement": self.agreement,
        }


def accuracy_change(
    float_graph: OnnxModel, int8_graph: OnnxModel, folder: str | Path, backend: str = "onnx"
) -> AccuracyChange:
    """Top-1 accuracy of both models on ``folder/<class name>/*`` (names as the model's).

    ``backend`` runs them: ``onnx``, or ``tflite`` for two ``.tflite`` classifiers.

    Raises:
        UsageError: The folder's class names are not the model's.
    """
    from visiona.data.folder import scan_folder
    from visiona.engine.predict.predictor import Predictor
    from visiona.models.load import LoadedModel

    names = float_graph.weights.class_names
    labelled = scan_folder(folder, classes=names)
    paths = [sample.path for sample in labelled.samples]
    labels = np.array([sample.label for sample in labelled.samples])
    predictions = []
    for graph in (float_graph, int8_graph):
        loaded = LoadedModel(
            graph,  # type: ignore[arg-type]
            graph.architecture,
            graph.weights,
            backend,
            "<memory>",
            graph.weights.task,
        )
        predictor = Predictor(loaded, backend=backend, batch_size=16)
        results = predictor.predict(paths, top_k=1)
        predictions.append(np.array([result.class_ids[0] for result in results]))
    float_pred, int8_pred = predictions
    return AccuracyChange(
        images=len(paths),
        float_accuracy=float(np.mean(float_pred == labels)),
        int8_accuracy=float(np.mean(int8_pred == labels)),
        agreement=float(np.mean(float_pred == int8_pred)),
    )
