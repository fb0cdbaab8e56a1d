"""``visiona export MODEL --format onnx|tflite``: a verified file carrying the Weights record."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from visiona.cli.conventions import fresh_path, model_argument, split_list
from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError, VisionaError

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel

FORMATS = ("onnx", "tflite", "pte")


def model_task(model: str, task: str | None) -> str:
    """The task to load ``model`` for: ``task`` if given, else what the model solves."""
    if task:
        return task
    from visiona.models.catalog import get_spec
    from visiona.weights.checkpoint import checkpoint_path, read_checkpoint_info

    if model.endswith(".onnx") and Path(model).expanduser().is_file():
        from visiona.models.onnx.read import read_onnx

        return read_onnx(Path(model).expanduser()).weights.task
    if model.endswith(".tflite") and Path(model).expanduser().is_file():
        import warnings

        from visiona.models.tflite.read import read_tflite

        with warnings.catch_warnings():  # loading warns once, about a foreign file
            warnings.simplefilter("ignore")
            return read_tflite(Path(model).expanduser()).weights.task
    try:
        path = checkpoint_path(model)
        return read_checkpoint_info(path).weights.task if path else get_spec(model)[0].task
    except VisionaError:
        return "classify"  # load_model reports the problem with its own message


def load_for_cli(
    model: str, task: str | None, random_init: bool, weights: Path | None
) -> LoadedModel:
    from visiona.models.load import load_model

    if model.endswith(".tflite"):  # a foreign file warns in one line
        from visiona.cli.foreign import load_tflite_for_cli

        return load_tflite_for_cli(model, model_task(model, task), None, stderr_console())
    return load_model(
        model,
        task=model_task(model, task),
        pretrained=not random_init,
        weights_file=weights,
        console=stderr_console(),
    )


def export(
    model: str = typer.Argument(
        None, help="Model name or checkpoint (runs/x/best) (or give it with -m)."
    ),
    format: str = typer.Option("onnx", "--format", "-f", help="onnx, tflite or pte (ExecuTorch)."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Destination file (default: exports/MODEL.onnx|.tflite)."
    ),
    task: str = typer.Option(None, "--task", help="Task (default: the model's own)."),
    weights: Path = typer.Option(None, "--weights", help="Local weights file for MODEL."),
    random_init: bool = typer.Option(False, "--random-init", help="Random weights."),
    opset: int = typer.Option(17, "--opset", min=11, help="ONNX opset version."),
    dynamo: bool = typer.Option(
        False, "--dynamo", help="Use the torch.export-based exporter (classifiers only)."
    ),
    verify_images: list[str] = typer.Option(
        None,
        "--verify-images",
        help="Images or folders to verify on, comma-separated or repeated (default: sample photos).",
    ),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip the check against PyTorch."),
    atol: float = typer.Option(1e-3, "--atol", min=0.0, help="Absolute output tolerance."),
    rtol: float = typer.Option(1e-3, "--rtol", min=0.0, help="Tolerance relative to max |out|."),
    int8: str = typer.Option(
        None, "--int8", help="Also write an INT8 copy: dynamic, or static (needs --calibration)."
    ),
    calibration: Path = typer.Option(
        None, "--calibration", help="Folder of images to calibrate static INT8 on."
    ),
    accuracy_data: Path = typer.Option(
        None, "--accuracy-data", help="Labelled folder DIR/<class>/...: report INT8's top-1 change."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON to stdout."),
    model_option: str = typer.Option(None, "--model", "-m", help="The model, instead of MODEL."),
) -> None:
    """Export a model for fast inference (ONNX Runtime; LiteRT or ExecuTorch on phones), checked
    against PyTorch.

    The ONNX graph takes uint8 RGB pixels, resized as the embedded Weights record says, and
    normalises them itself; classifiers have a dynamic batch, torchvision detectors take one
    image of any size per call. TFLite and ExecuTorch (pte) files (classifiers) take one
    (1, H, W, 3) uint8 image.
    Exit codes: 0 written, 1 verification failed (nothing written), 2 bad usage or a model the
    converter cannot handle.
    """
    from visiona.engine.export.onnx import export_onnx
    from visiona.engine.export.quantize import QUANT_MODES

    model = model_argument(model, model_option)
    if format not in FORMATS:
        raise UsageError(f"unknown export format {format!r}; supported: {', '.join(FORMATS)}")
    if int8 is not None and int8 not in QUANT_MODES:
        raise UsageError(f"--int8 {int8!r}: use dynamic or static")
    if int8 == "static" and calibration is None:
        raise UsageError("--int8 static needs --calibration DIR (images to calibrate on)")
    if accuracy_data is not None and int8 is None:
        raise UsageError("--accuracy-data measures an INT8 copy: add --int8 dynamic|static")
    if model.endswith((".onnx", ".tflite")):
        kind = "an ONNX" if model.endswith(".onnx") else "a TFLite"
        raise UsageError(
            f"{model} is already {kind} file", hint="export a model name or checkpoint"
        )
    err = stderr_console()
    loaded = load_for_cli(model, task, random_init, weights)
    if format in ("tflite", "pte"):
        from visiona.cli.export_tflite import export_tflite_cli

        images = split_list(verify_images) or None
        options = {"verify_images": images, "verify": not no_verify, "atol": atol}
        options.update(rtol=rtol, int8=int8, calibration=calibration, accuracy=accuracy_data)
        return export_tflite_cli(loaded, output, as_json=as_json, format=format, **options)
    path = output or Path("exports") / f"{Path(loaded.architecture).name}.onnx"
    if not path.is_dir():
        path = fresh_path(path)  # never overwrite an earlier export: -2, -3...
    with err.status(f"exporting {loaded.architecture} to ONNX and verifying"):
        report = export_onnx(
            loaded, path, opset=opset, dynamo=dynamo, verify_images=split_list(verify_images) or None,
            verify=not no_verify, atol=atol, rtol=rtol,
        )  # fmt: skip
    summary: dict[str, Any] = {"export": report.to_dict()}
    if report.verification is not None:
        check = report.verification
        err.print(f"verified against PyTorch on {check.describe()}", markup=False)
    err.print(f"wrote {path} ({report.size_bytes / 2**20:.1f} MiB)", markup=False)
    if int8 is not None:
        summary["int8"] = _int8(path, int8, calibration, accuracy_data, err)
    if as_json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")


def _int8(
    path: Path, mode: str, calibration: Path | None, accuracy_data: Path | None, err: Any
) -> dict[str, Any]:
    from visiona.engine.export.quantize import accuracy_change, quantize
    from visiona.models.onnx.read import read_onnx

    graph = read_onnx(path)
    with err.status(f"quantizing to INT8 ({mode})"):
        quantized = quantize(graph, mode, calibration=calibration)
    target = path.with_name(f"{path.stem}.int8-{mode}.onnx")
    from visiona.io.atomic import atomic_write_bytes

    atomic_write_bytes(target, quantized.model_bytes)
    err.print(f"wrote {target} ({len(quantized.model_bytes) / 2**20:.1f} MiB)", markup=False)
    result: dict[str, Any] = {"path": str(target), "mode": mode}
    if accuracy_data is not None:
        with err.status("measuring accuracy of float and INT8"):
            change = accuracy_change(graph, quantized, accuracy_data)
        result["accuracy"] = change.to_dict()
        stdout_console().print(
            f"top-1 on {change.images} labelled images: float {change.float_accuracy:.2%}, "
            f"INT8 {change.int8_accuracy:.2%} (change {change.change * 100:+.2f} points, "
            f"same prediction on {change.agreement:.1%})",
            markup=False,
        )
    return result
