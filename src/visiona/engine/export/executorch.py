"""``visiona export MODEL --format pte``: an ExecuTorch program (PyTorch's on-device runtime).

Optional, beside TFLite: the same graph contract — ``pixels`` ``(1, H, W, 3)`` uint8 RGB →
``logits`` ``(1, C)`` float32, normalisation inside — exported with ``torch.export`` and lowered to
the XNNPACK delegate. The Weights record is a constant method ``visiona_metadata`` (a JSON
string: ``program.load_method("visiona_metadata").execute([])[0]``), and ``MODEL.json`` beside it
holds the same facts as for a ``.tflite``. Before anything is written the same real images go
through PyTorch eager and through ExecuTorch's Python runtime; the export fails, writing nothing,
beyond the tolerance.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
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
from visiona.engine.export.tflite import TfliteExportReport, app_metadata, write_atomically
from visiona.errors import MissingDependencyError, UsageError
from visiona.models.tflite.convert import UnsupportedModelError, pixels_nhwc_wrapper, unsupported
from visiona.models.tflite.format import TfliteModel, metadata_for, native_stderr_silenced

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel

METADATA_METHOD = "visiona_metadata"


def require_executorch() -> Any:
    try:
        with native_stderr_silenced():
            import executorch.exir
    except ImportError:
        raise MissingDependencyError(
            "ExecuTorch is not installed", hint="install it with: pip install executorch"
        ) from None
    return executorch.exir


def to_pte(model: LoadedModel) -> bytes:
    """The ``.pte`` program of a loaded classifier (not verified).

    Raises:
        UnsupportedModelError: Not a classifier, or an op ExecuTorch cannot export.
    """
    import torch

    if model.task != "classify":
        raise UnsupportedModelError(
            f"{model.architecture} is a {model.task} model; ExecuTorch export covers classifiers",
            hint=f"export it with: visiona export {model.source} --format onnx",
        )
    exir = require_executorch()
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    from visiona.models.tflite.convert import _quiet

    record = model.weights
    height, width = record.preprocessing.input_size
    wrapper = pixels_nhwc_wrapper(model.module.eval(), record.preprocessing)
    example = torch.randint(0, 256, (1, height, width, 3), dtype=torch.uint8)
    meta = metadata_for(record, model.architecture, arch_options=model.arch_options)
    meta["visiona.format"] = "visiona.pte/1"
    try:
        with _quiet(), torch.no_grad():
            program = exir.to_edge_transform_and_lower(
                torch.export.export(wrapper, (example,)),
                partitioner=[XnnpackPartitioner()],
                constant_methods={METADATA_METHOD: json.dumps(meta)},
            ).to_executorch()
    except Exception as error:  # export/lowering raise many kinds; all mean "cannot convert"
        raise unsupported(model, error) from None
    return bytes(program.buffer)


def read_pte_metadata(path: str | Path) -> dict[str, str]:
    """The ``visiona_metadata`` constant method of a ``.pte`` file, parsed."""
    from executorch.runtime import Runtime

    with native_stderr_silenced():
        program = Runtime.get().load_program(str(path))
    return json.loads(program.load_method(METADATA_METHOD).execute([])[0])


def run_pte(content: bytes, pixels: Any) -> np.ndarray:
    """``(N, 3, H, W)`` uint8 pixels through ExecuTorch's runtime, one image per call."""
    import torch
    from executorch.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="visiona-pte-") as tmp:
        path = Path(tmp, "model.pte")
        path.write_bytes(content)
        with native_stderr_silenced():  # cpuinfo lines at the runtime's start
            method = Runtime.get().load_program(str(path)).load_method("forward")
        rows = [
            method.execute([image.permute(1, 2, 0).unsqueeze(0).contiguous()])[0]
            for image in pixels
        ]
    return torch.cat([torch.as_tensor(row).reshape(1, -1) for row in rows]).float().numpy()


def export_pte(
    model: LoadedModel,
    output: str | Path,
    *,
    verify_images: Sequence[Any] | None = None,
    verify: bool = True,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> TfliteExportReport:
    """Export, verify against PyTorch, then write ``output`` and ``output.json``.

    Raises:
        UsageError: The destination is not a ``.pte`` path, or is a folder.
        UnsupportedModelError: ExecuTorch cannot export the network.
        ExportVerificationError: ExecuTorch and PyTorch disagree beyond the tolerance.
    """
    import torch

    from visiona.ops.preprocess import normalize, resize_pixels

    path = Path(output)
    if path.suffix != ".pte" or path.is_dir():
        raise UsageError(f"export destination must be a file ending in .pte, got {str(path)!r}")
    start = time.perf_counter()
    content = to_pte(model)
    check = None
    if verify:
        preprocessing = model.weights.preprocessing
        images = load_verification_images(verify_images)
        batch = torch.stack([resize_pixels(image, preprocessing) for image in images])
        with torch.inference_mode():
            reference = model.module.eval()(normalize(batch, preprocessing)).float().numpy()
        ours = run_pte(content, batch)
        diff = float(np.abs(ours - reference).max())
        tolerance = atol + rtol * float(np.abs(reference).max())
        same = float(np.mean(ours.argmax(1) == reference.argmax(1)))
        check = Verification(len(images), diff, tolerance, same)
        if not check.passed:
            raise ExportVerificationError(
                f"the ExecuTorch export of {model.architecture} does not match PyTorch: max "
                f"|diff| {diff:.3g} (allowed {tolerance:.3g}), same top-1 on {same:.0%} of "
                f"{len(images)} images; nothing was written",
                hint="export to ONNX or TFLite instead",
            )
    write_atomically(path, content)
    sidecar = app_metadata(TfliteModel(content, model.weights, model.architecture))
    sidecar["format"] = "visiona.pte/1"
    write_atomically(path.with_suffix(".json"), (json.dumps(sidecar, indent=2) + "\n").encode())
    from importlib.metadata import version

    return TfliteExportReport(
        path=path,
        size_bytes=len(content),
        seconds=time.perf_counter() - start,
        converter=f"executorch {version('executorch')} (XNNPACK)",
        verification=check,
    )


__all__ = ["UnsupportedModelError", "export_pte", "run_pte", "to_pte"]
