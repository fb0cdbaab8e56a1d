"""Read a ``.tflite`` file as a model: visiona's own exports, or a foreign classifier."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visiona.errors import UsageError, WeightsError
from visiona.models.tflite.format import FORMAT, METADATA_NAME, TfliteModel, read_metadata
from visiona.weights.record import Preprocessing, Weights


@dataclass(frozen=True)
class ForeignPreprocessing:
    """What the user says about a ``.tflite`` file visiona did not write.

    Attributes:
        input_size: ``(height, width)``; default: the input tensor's.
        mean: Per-channel mean on the [0, 1] scale; default ``(0, 0, 0)``.
        std: Per-channel standard deviation on the [0, 1] scale; default ``(1, 1, 1)``.
    """

    input_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    @property
    def given(self) -> bool:
        return self.input_size is not None or self.mean is not None or self.std is not None


class UnknownPreprocessingWarning(UserWarning):
    """A foreign ``.tflite`` file runs with guessed preprocessing."""


def read_tflite(path: str | Path, foreign: ForeignPreprocessing | None = None) -> TfliteModel:
    """Read a ``.tflite`` file exported by visiona, or a foreign image classifier.

    A foreign file (no ``visiona`` metadata) is taken as a classifier whose input tensor is
    ``(1, H, W, 3)`` or ``(1, 3, H, W)``; images are stretched to ``H×W``; float inputs get
    ``(x / 255 - mean) / std``, integer inputs the raw (or re-quantized) pixels. Unless
    ``foreign`` says so, that is a guess, and a :class:`UnknownPreprocessingWarning` says it.

    Raises:
        WeightsError: Not a TFLite file, damaged metadata, or an input that is not an image.
        MissingDependencyError: ai-edge-litert is not installed (names the extra).
    """
    from visiona.models.tflite.format import require_litert

    require_litert()  # a missing runtime is not a damaged file
    path = Path(path)
    data = path.read_bytes()
    try:
        entries = read_metadata(data)
    except Exception as error:  # flatbuffers raise assorted errors on garbage
        raise WeightsError(f"{path}: not a valid TFLite file ({type(error).__name__})") from None
    raw = entries.get(METADATA_NAME)
    if raw is None:
        return _foreign(path, data, foreign or ForeignPreprocessing())
    try:
        meta = json.loads(raw.decode("utf-8"))
        if meta.get("visiona.format") != FORMAT:
            raise ValueError(f"unknown format {meta.get('visiona.format')!r}")
        weights = Weights.from_json(meta["visiona.weights"])
        outputs = tuple(json.loads(meta.get("visiona.outputs", '["logits"]')))
        extra = json.loads(meta.get("visiona.extra", "{}"))
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as error:
        raise WeightsError(f"{path}: damaged visiona metadata ({error})") from None
    return TfliteModel(
        model_bytes=data,
        weights=weights,
        architecture=meta.get("visiona.architecture", weights.model),
        outputs=outputs,
        path=path,
        arch_options=dict(extra.get("arch_options", {})),
        quantization=meta.get("visiona.quantization", ""),
    )


def input_details(model_bytes: bytes) -> dict[str, Any]:
    """The first input tensor's details (``shape``, ``dtype``, ``quantization``...)."""
    from visiona.models.tflite.format import require_litert

    interpreter = require_litert().Interpreter(model_content=model_bytes)
    return interpreter.get_input_details()[0]


def _foreign(path: Path, data: bytes, given: ForeignPreprocessing) -> TfliteModel:
    from visiona.models.imagenet import numbered_class_names

    try:
        details = input_details(data)
        output_count = _output_classes(data)
    except (ValueError, RuntimeError) as error:
        raise WeightsError(f"{path}: LiteRT cannot load it ({error})") from None
    shape = [int(v) for v in details["shape"]]
    if len(shape) != 4 or 3 not in (shape[1], shape[3]):
        raise UsageError(
            f"{path}: input tensor {shape} is not an RGB image (1, H, W, 3) or (1, 3, H, W)",
            hint="visiona runs foreign .tflite image classifiers only",
        )
    height, width = (shape[1], shape[2]) if shape[3] == 3 else (shape[2], shape[3])
    size = given.input_size or (height, width)
    if not given.given:
        warnings.warn(
            f"{path.name} has no visiona metadata: its preprocessing is unknown, so images are "
            f"stretched to {size[0]}×{size[1]} and scaled to [0, 1]; pass --input-size, --mean "
            "and --std if the model expects otherwise",
            UnknownPreprocessingWarning,
            stacklevel=3,
        )
    record = Weights(
        model=f"tflite:{path.stem}",
        tag="foreign",
        task="classify",
        preprocessing=Preprocessing(
            input_size=size,
            resize="stretch",
            resize_size=None,
            mean=given.mean or (0.0, 0.0, 0.0),
            std=given.std or (1.0, 1.0, 1.0),
        ),
        class_names=numbered_class_names(output_count),
        description="a .tflite file without visiona metadata",
    )
    return TfliteModel(
        model_bytes=data,
        weights=record,
        architecture=f"tflite:{path.stem}",
        path=path,
        kind="foreign",
        arch_options={"channels_last": shape[3] == 3},
    )


def _output_classes(data: bytes) -> int:
    from visiona.models.tflite.format import require_litert

    interpreter = require_litert().Interpreter(model_content=data)
    shape = [int(v) for v in interpreter.get_output_details()[0]["shape"]]
    classes = shape[-1] if shape else 1
    if classes < 1:
        raise ValueError(f"output shape {shape}")
    return classes
