"""Read an ONNX file as a model: visiona's own exports, or an ultralytics detector."""

from __future__ import annotations

import json
from pathlib import Path

from visiona.errors import WeightsError
from visiona.models.onnx import ultralytics
from visiona.models.onnx.format import FORMAT, OnnxModel
from visiona.weights.record import Weights


def read_onnx(path: str | Path) -> OnnxModel:
    """Read an ONNX file exported by visiona (or an ultralytics detector), with its record.

    Raises:
        WeightsError: Not an ONNX file, or one without visiona (or ultralytics) metadata.
    """
    import onnx

    path = Path(path)
    data = path.read_bytes()
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf DecodeError and friends
        raise WeightsError(f"{path}: not a valid ONNX file ({type(error).__name__})") from None
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    if "visiona.format" not in meta and ultralytics.is_ultralytics(meta):
        return ultralytics.read_ultralytics(path, data, meta)
    if meta.get("visiona.format") != FORMAT:
        raise WeightsError(
            f"{path}: an ONNX file without visiona metadata",
            hint="export models with: visiona export MODEL --format onnx",
        )
    try:
        weights = Weights.from_json(meta["visiona.weights"])
        outputs = tuple(json.loads(meta["visiona.outputs"]))
        extra = json.loads(meta.get("visiona.extra", "{}"))
    except (KeyError, ValueError, TypeError) as error:
        raise WeightsError(f"{path}: damaged visiona metadata ({error})") from None
    return OnnxModel(
        model_bytes=data,
        weights=weights,
        architecture=meta.get("visiona.architecture", weights.model),
        batched=meta.get("visiona.batched", "1") == "1",
        outputs=outputs,
        path=path,
        arch_options=dict(extra.get("arch_options", {})),
    )
