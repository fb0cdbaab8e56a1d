"""``visiona export MODEL --format tflite``: a verified LiteRT/TFLite file for phones, + INT8.

The float file comes from litert-torch (see :mod:`visiona.models.tflite.convert`): ``pixels``
``(1, H, W, 3)`` uint8 RGB → ``logits`` ``(1, C)`` float32, the Weights record in the
flatbuffer's ``visiona`` metadata entry. Before anything is written the same real images go
through PyTorch eager and through LiteRT (XNNPACK); the export fails, writing nothing, when they
disagree beyond the tolerance — as for ONNX (:mod:`visiona.engine.export.onnx`).

INT8 uses the converter's own quantizer (``ai-edge-quantizer``) on the float flatbuffer:

* ``dynamic``: int8 weights (per channel), float activations quantized on the fly;
* ``static``: int8 weights and int8 activations everywhere the quantizer supports them (full
  integer), activation ranges calibrated on a folder of images preprocessed as the record says.
  The uint8 input and the float logits stay as they are, so apps feed the same tensor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.engine.export.onnx import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    ExportVerificationError,
    Verification,
    load_verification_images,
)
from visiona.errors import InputNotFoundError, MissingDependencyError, UsageError
from visiona.models.tflite.format import (
    METADATA_NAME,
    TFLITE_EXTRA,
    TfliteModel,
    read_metadata,
    with_metadata,
)

if TYPE_CHECKING:
    from visiona.engine.export.quantize import AccuracyChange
    from visiona.models.load import LoadedModel

QUANT_MODES = ("dynamic", "static")
MAX_CALIBRATION_IMAGES = 256


@dataclass(frozen=True)
class TfliteExportReport:
    """What a TFLite export produced."""

    path: Path
    size_bytes: int
    seconds: float
    converter: str
    verification: Verification | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.path.suffix.lstrip("."),
            "size_bytes": self.size_bytes,
            "seconds": round(self.seconds, 2),
            "converter": self.converter,
            "verification": None if self.verification is None else self.verification.to_dict(),
        }


def export_tflite(
    model: LoadedModel,
    output: str | Path,
    *,
    verify_images: Sequence[Any] | None = None,
    verify: bool = True,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> TfliteExportReport:
    """Convert, verify against PyTorch, then write ``output`` (nothing is written on failure).

    Raises:
        UsageError: The destination is not a ``.tflite`` path, or is a folder.
        UnsupportedModelError: The converter cannot handle the network (use ONNX).
        ExportVerificationError: LiteRT and PyTorch disagree beyond the tolerance.
    """
    from visiona.models.tflite.convert import require_litert_torch, to_tflite

    path = _checked_destination(output)
    start = time.perf_counter()
    converter = require_litert_torch()
    graph = to_tflite(model)
    check = None
    if verify:
        images = load_verification_images(verify_images)
        check = verify_tflite(model, graph, images, atol=atol, rtol=rtol)
        if not check.passed:
            raise ExportVerificationError(
                f"the TFLite export of {model.architecture} does not match PyTorch: max |diff| "
                f"{check.max_abs_diff:.3g} (allowed {check.tolerance:.3g}), same top-1 on "
                f"{check.top1_agreement:.0%} of {check.images} images; nothing was written",
                hint="export to ONNX instead (--format onnx), or loosen --atol/--rtol",
            )
    write_atomically(path, graph.model_bytes)
    write_app_metadata(graph, path)
    return TfliteExportReport(
        path=path,
        size_bytes=len(graph.model_bytes),
        seconds=time.perf_counter() - start,
        converter=f"litert-torch {getattr(converter, '__version__', '?')}",
        verification=check,
    )


def _checked_destination(output: str | Path) -> Path:
    path = Path(output)
    if path.suffix != ".tflite":
        raise UsageError(f"export destination must end in .tflite, got {str(path)!r}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name ending in .tflite")
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def app_metadata(graph: TfliteModel) -> dict[str, Any]:
    """What a mobile app needs beside the file: tensors, class names, preprocessing.

    The same facts as the file's ``visiona`` metadata entry, flattened for apps that read a
    JSON asset rather than the flatbuffer.
    """
    from visiona.ops.preprocess import resize_rule

    pre = graph.weights.preprocessing
    height, width = pre.input_size
    return {
        "format": "visiona.tflite/1",
        "task": graph.weights.task,
        "architecture": graph.architecture,
        "quantization": graph.quantization or "float32",
        "input": {"name": "pixels", "shape": [1, height, width, 3], "dtype": "uint8",
                  "layout": "NHWC RGB 0-255, resized as 'resize' says; normalised inside"},
        "output": {"name": "logits", "shape": [1, graph.weights.num_classes],
                   "dtype": "float32", "apply": "softmax for probabilities"},
        "class_names": list(graph.weights.class_names),
        "mean": list(pre.mean),
        "std": list(pre.std),
        "resize": resize_rule(pre),
        "license": graph.weights.license,
    }  # fmt: skip


def write_app_metadata(graph: TfliteModel, path: Path) -> Path:
    """``MODEL.json`` beside ``MODEL.tflite`` (see :func:`app_metadata`), written atomically."""
    target = path.with_suffix(".json")
    write_atomically(target, (json.dumps(app_metadata(graph), indent=2) + "\n").encode())
    return target


def run_tflite(graph: TfliteModel, pixels: Any) -> np.ndarray:
    """``(N, 3, H, W)`` uint8 pixels through LiteRT → ``(N, C)`` logits."""
    from visiona.engine.predict.tflite_backend import TfliteBackend

    backend = TfliteBackend(_loaded(graph), "cpu")
    return backend(pixels).numpy()


def _loaded(graph: TfliteModel) -> LoadedModel:
    from visiona.models.load import LoadedModel

    return LoadedModel(
        graph,  # type: ignore[arg-type]
        graph.architecture,
        graph.weights,
        "tflite",
        str(graph.path or "<memory>"),
        graph.weights.task,
        graph.arch_options,
    )


def verify_tflite(
    model: LoadedModel,
    graph: TfliteModel,
    images: Sequence[np.ndarray],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> Verification:
    """Run ``images`` through PyTorch eager and LiteRT; every logit is compared."""
    import torch

    from visiona.ops.preprocess import normalize, resize_pixels

    preprocessing = model.weights.preprocessing
    batch = torch.stack([resize_pixels(image, preprocessing) for image in images])
    with torch.inference_mode():
        reference = model.module.eval()(normalize(batch, preprocessing)).float().numpy()
    ours = run_tflite(graph, batch)
    diff = float(np.abs(ours - reference).max())
    tolerance = atol + rtol * float(np.abs(reference).max())
    same = float(np.mean(ours.argmax(1) == reference.argmax(1)))
    return Verification(len(images), diff, tolerance, same)


def require_quantizer() -> Any:
    try:
        from ai_edge_quantizer import quantizer, recipe
    except ImportError:
        raise MissingDependencyError(
            "the TFLite quantizer (ai-edge-quantizer) is not installed",
            hint=f"install it with: {TFLITE_EXTRA}",
        ) from None
    return quantizer, recipe


def quantize_tflite(
    graph: TfliteModel, mode: str, *, calibration: str | Path | Sequence[Any] | None = None
) -> TfliteModel:
    """An INT8 copy of a visiona ``.tflite`` classifier (metadata kept, quantization noted).

    Raises:
        UsageError: Unknown mode, a foreign file, or static without calibration images.
        InputNotFoundError: The calibration folder holds no readable image.
    """
    if mode not in QUANT_MODES:
        raise UsageError(f"unknown quantization {mode!r}; use dynamic or static")
    if graph.kind != "visiona":
        raise UsageError("INT8 quantization applies to .tflite files exported by visiona")
    if mode == "static" and not calibration:
        raise UsageError(
            "static quantization needs calibration images: pass --calibration DIR",
            hint="a few hundred images like the ones the model will see; or use --int8 dynamic",
        )
    quantizer, recipe = require_quantizer()
    from visiona.models.tflite.convert import _quiet

    samples = _calibration_samples(graph, calibration) if mode == "static" else None
    with _quiet():
        engine = quantizer.Quantizer(bytearray(graph.model_bytes))
        if mode == "dynamic":
            engine.load_quantization_recipe(recipe.dynamic_wi8_afp32())
            result = engine.quantize(enable_progress_report=False)
        else:
            engine.load_quantization_recipe(recipe.static_wi8_ai8())
            ranges = engine.calibrate(samples)
            result = engine.quantize(ranges, enable_progress_report=False)
    meta = json.loads(read_metadata(graph.model_bytes)[METADATA_NAME].decode())
    meta["visiona.quantization"] = f"int8-{mode}"
    content = with_metadata(bytes(result.quantized_model), METADATA_NAME, json.dumps(meta).encode())
    return TfliteModel(
        model_bytes=content,
        weights=graph.weights,
        architecture=graph.architecture,
        outputs=graph.outputs,
        arch_options=graph.arch_options,
        quantization=f"int8-{mode}",
    )


def check_calibration(calibration: str | Path) -> None:
    """Fail fast when the calibration folder (or glob) holds no image file.

    Raises:
        InputNotFoundError: No such folder, or no image in it.
    """
    from visiona.data.sources import gather_inputs

    try:
        gather_inputs([str(calibration)])
    except (InputNotFoundError, UsageError) as error:
        raise InputNotFoundError(
            f"--calibration {calibration}: {error.message}",
            hint="give a folder of images like the ones the model will see",
        ) from None


def _calibration_samples(graph: TfliteModel, calibration: Any) -> dict[str, list[dict[str, Any]]]:
    """``{signature: [{input name: (1, H, W, 3) uint8}, ...]}`` from the calibration images."""
    from visiona.data.sources import gather_inputs
    from visiona.engine.predict.tflite_backend import interpreter_for
    from visiona.errors import ImageLoadError
    from visiona.io.fast_decode import decode_image
    from visiona.ops.preprocess import resize_pixels

    items = calibration if isinstance(calibration, list | tuple) else [calibration]
    files = [str(item) if isinstance(item, Path) else item for item in items]
    try:
        inputs = gather_inputs(files)[:MAX_CALIBRATION_IMAGES]
    except InputNotFoundError as error:
        raise InputNotFoundError(f"calibration: {error.message}", hint=error.hints) from None
    interpreter = interpreter_for(graph.model_bytes, 1)
    [(key, signature)] = list(interpreter.get_signature_list().items())[:1]
    [input_name] = signature["inputs"][:1]
    samples = []
    for item in inputs:
        try:
            image = decode_image(item)
        except ImageLoadError:
            continue  # calibration tolerates a bad file; prediction reports them
        pixels = resize_pixels(image.array, graph.weights.preprocessing)
        samples.append({input_name: pixels.permute(1, 2, 0).numpy()[None]})
    if not samples:
        raise InputNotFoundError(
            f"no readable image to calibrate on in {', '.join(map(str, files))}",
            hint="give a folder of images like the ones the model will see",
        )
    return {key: samples}


def tflite_accuracy_change(
    float_graph: TfliteModel, int8_graph: TfliteModel, folder: str | Path
) -> AccuracyChange:
    """Top-1 accuracy of both files on ``folder/<class name>/*``, as the ONNX INT8 report."""
    from visiona.engine.export.quantize import accuracy_change

    return accuracy_change(float_graph, int8_graph, folder, backend="tflite")  # type: ignore[arg-type]
