"""``visiona export MODEL --format tflite``: the TFLite half of the export command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel


def export_tflite_cli(
    loaded: LoadedModel,
    output: Path | None,
    *,
    verify_images: list[str] | None,
    verify: bool,
    atol: float,
    rtol: float,
    int8: str | None,
    calibration: Path | None,
    accuracy: Path | None,
    as_json: bool,
    format: str = "tflite",
) -> None:
    """Convert, verify, write; then the INT8 copy and its accuracy change, if asked for.

    ``format`` ``pte`` writes an ExecuTorch program instead (float only).
    """
    from visiona.engine.export.tflite import check_calibration, export_tflite

    if int8 == "static" and calibration is not None:
        check_calibration(calibration)  # before a conversion that takes tens of seconds
    if format == "pte" and int8 is not None:
        raise UsageError("--int8 is available for onnx and tflite; ExecuTorch export is float")
    err = stderr_console()
    from visiona.cli.conventions import fresh_path

    path = output or Path("exports") / f"{Path(loaded.architecture).name}.{format}"
    if not path.is_dir():
        path = fresh_path(path)  # never overwrite an earlier export: -2, -3...
    runtime = "ExecuTorch" if format == "pte" else "LiteRT"
    with err.status(f"converting {loaded.architecture} for {runtime} and verifying"):
        if format == "pte":
            from visiona.engine.export.executorch import export_pte as convert
        else:
            convert = export_tflite
        report = convert(
            loaded, path, verify_images=verify_images, verify=verify, atol=atol, rtol=rtol
        )
    summary: dict[str, Any] = {"export": report.to_dict()}
    if report.verification is not None:
        check = report.verification
        err.print(
            f"verified on {check.images} images with {runtime}: max |diff| {check.max_abs_diff:.2e} "
            f"(allowed {check.tolerance:.2e}), same top-1 on {check.top1_agreement:.0%}",
            markup=False,
        )
    err.print(
        f"wrote {path} ({report.size_bytes / 2**20:.2f} MiB) and {path.with_suffix('.json')}",
        markup=False,
    )
    if int8 is not None:
        summary["int8"] = _int8(path, int8, calibration, accuracy, err, as_json)
    if as_json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")


def _int8(
    path: Path,
    mode: str,
    calibration: Path | None,
    accuracy: Path | None,
    err: Any,
    as_json: bool,
) -> dict[str, Any]:
    from visiona.engine.export.tflite import (
        quantize_tflite,
        tflite_accuracy_change,
        write_app_metadata,
        write_atomically,
    )
    from visiona.models.tflite.read import read_tflite

    graph = read_tflite(path)
    with err.status(f"quantizing to INT8 ({mode})"):
        quantized = quantize_tflite(graph, mode, calibration=calibration)
    target = path.with_name(f"{path.stem}.int8-{mode}.tflite")
    write_atomically(target, quantized.model_bytes)
    write_app_metadata(quantized, target)
    err.print(f"wrote {target} ({len(quantized.model_bytes) / 2**20:.2f} MiB)", markup=False)
    result: dict[str, Any] = {"path": str(target), "mode": mode}
    if accuracy is not None:
        with err.status("measuring accuracy of float and INT8"):
            change = tflite_accuracy_change(graph, quantized, accuracy)
        result["accuracy"] = change.to_dict()
        (err if as_json else stdout_console()).print(
            f"top-1 on {change.images} labelled images: float {change.float_accuracy:.2%}, "
            f"INT8 {change.int8_accuracy:.2%} (change {change.change * 100:+.2f} points, "
            f"same prediction on {change.agreement:.1%})",
            markup=False,
        )
    return result
