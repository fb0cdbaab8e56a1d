"""``visiona predict TASK PATH...``: run a model on images, folders or globs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from visiona import defaults
from visiona.cli import foreign as foreign_options
from visiona.cli.conventions import split_list
from visiona.cli.output import (
    OutputNamer,
    progress_bar,
    scanned_folders,
    stderr_console,
    stdout_console,
)
from visiona.errors import UsageError, VisionaError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.predict.predictor import PredictionItem

app = typer.Typer(help="Run a model on images, folders or globs.", no_args_is_help=True)


@app.command("classify")
def classify(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    model: str = typer.Option(
        None, "--model", "-m", help="Model name or checkpoint (default: efficientnet_lite0)."
    ),
    weights: Path = typer.Option(None, "--weights", help="Local weights file for --model."),
    random_init: bool = typer.Option(False, "--random-init", help="Random weights (smoke tests)."),
    top_k: int = typer.Option(
        defaults.TOP_K, "--top-k", "-k", min=1, help="Classes to report per image."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON to stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print results as CSV to stdout."),
    save: Path = typer.Option(None, "--save", help="Write annotated images to this folder."),
    roi: str = typer.Option(
        None, "--roi", help="Classify only a region: center:0.5 or box:x0,y0,x1,y1."
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    backend: str = typer.Option(
        None,
        "--backend",
        help="torch, compiled, onnx or tflite (default: the file's runtime, else torch).",
    ),
    max_pixels: int = typer.Option(
        None, "--max-pixels", min=1, help="Refuse images above this many pixels."
    ),
    labels: str = typer.Option(
        None, "--labels", help='Zero-shot with CLIP/SigLIP: class names, e.g. "cat,dog,car".'
    ),
    labels_file: Path = typer.Option(
        None, "--labels-file", help="Zero-shot class names, one per line."
    ),
    input_size: str = typer.Option(None, "--input-size", help=foreign_options.INPUT_SIZE_HELP),
    mean: str = typer.Option(None, "--mean", help=foreign_options.MEAN_HELP),
    std: str = typer.Option(None, "--std", help=foreign_options.STD_HELP),
) -> None:
    """Classify images: top-k labels with probabilities.

    Zero-shot: visiona predict classify -m clip --labels "cat,dog,car" IMAGES

    Exit codes: 0 all images classified, 1 some images could not be read, 2 bad usage.
    """
    zero_shot = _zero_shot_labels(labels, labels_file)
    items, saved, err = _run(
        "classify", paths, model=model, weights=weights, random_init=random_init, save=save,
        roi=roi, batch_size=batch_size, device=device, max_pixels=max_pixels,
        as_json=as_json, as_csv=as_csv, options={"top_k": top_k}, backend=backend,
        zero_shot=zero_shot,
        foreign=foreign_options.foreign_preprocessing(model, input_size, mean, std),
    )  # fmt: skip
    if as_json:
        _print_json(items)
    elif as_csv:
        _print_classification_csv(items)
    else:
        _print_classification_table(items)
    _print_summary(items, saved, err, f"classified {_count(_ok(items), 'image')}")
    _exit_if_failed(items)


@app.command("detect")
def detect(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Detector name or checkpoint (default: fasterrcnn_mobilenet_v3_large_320_fpn). "
        "Mask R-CNN adds instance masks, Keypoint R-CNN keypoints.",
    ),
    weights: Path = typer.Option(None, "--weights", help="Local weights file for --model."),
    random_init: bool = typer.Option(False, "--random-init", help="Random weights (smoke tests)."),
    conf: float = typer.Option(
        defaults.DETECT_CONF,
        "--conf",
        min=0.0,
        max=1.0,
        help="Keep detections scoring at least this.",
    ),
    iou: float = typer.Option(
        defaults.DETECT_IOU,
        "--iou",
        min=0.0,
        max=1.0,
        help="Class-aware NMS IoU threshold (1 disables it).",
    ),
    classes: list[str] = typer.Option(
        None, "--classes", help="Keep only these classes: ids or names, e.g. 0,2 or person,car."
    ),
    max_det: int = typer.Option(
        defaults.DETECT_MAX_DET, "--max-det", min=1, help="At most this many per image."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON to stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print one CSV row per object to stdout."),
    save: Path = typer.Option(None, "--save", help="Write annotated images to this folder."),
    roi: str = typer.Option(
        None, "--roi", help="Look only at a region: center:0.5 or box:x0,y0,x1,y1."
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    backend: str = typer.Option(
        None,
        "--backend",
        help="torch, compiled, onnx or tflite (default: the file's runtime, else torch).",
    ),
    max_pixels: int = typer.Option(
        None, "--max-pixels", min=1, help="Refuse images above this many pixels."
    ),
) -> None:
    """Detect objects: boxes (xyxy pixels), labels, scores; masks and keypoints if predicted.

    Exit codes: 0 all images processed, 1 some images could not be read, 2 bad usage.
    """
    chosen = (split_list(classes) or ",".join(classes)) if classes else None
    options = {"conf": conf, "iou": iou, "classes": chosen, "max_det": max_det}
    items, saved, err = _run(
        _detection_task(model), paths, model=model, weights=weights, random_init=random_init,
        save=save, roi=roi, batch_size=batch_size, device=device, max_pixels=max_pixels,
        as_json=as_json, as_csv=as_csv, options=options, backend=backend,
    )  # fmt: skip
    if as_json:
        _print_json(items)
    elif as_csv:
        _print_detection_csv(items)
    else:
        _print_detection_table(items)
    ok = _ok(items)
    objects = sum(len(item.result) for item in ok)
    _print_summary(
        items, saved, err, f"detected {_count(objects, 'object')} in {_count(ok, 'image')}"
    )
    _exit_if_failed(items)


def _zero_shot_labels(labels: str | None, labels_file: Path | None) -> list[str] | None:
    """The zero-shot class names from ``--labels`` or ``--labels-file`` (None: not zero-shot)."""
    if labels is not None and labels_file is not None:
        raise UsageError("choose one of --labels and --labels-file")
    if labels_file is not None:
        try:
            text = labels_file.read_text()
        except OSError:
            raise UsageError(f"--labels-file {str(labels_file)!r} cannot be read") from None
        return [line for line in text.splitlines() if line.strip()] or [""]
    return None if labels is None else labels.split(",")


_DETECTION_TASKS = ("detect", "segment-instances", "keypoints")


def _detection_task(model: str | None) -> str:
    """The task of a detection-family model (Mask R-CNN → segment-instances...), else detect."""
    if model is None:
        return "detect"
    from visiona.models.catalog import get_spec
    from visiona.weights.checkpoint import checkpoint_path, read_checkpoint_info

    try:
        if model.endswith(".onnx") and Path(model).expanduser().is_file():
            from visiona.models.onnx.read import read_onnx

            task = read_onnx(Path(model).expanduser()).weights.task
            return task if task in _DETECTION_TASKS else "detect"
        path = checkpoint_path(model)
        task = read_checkpoint_info(path).weights.task if path else get_spec(model)[0].task
    except VisionaError:
        return "detect"  # load_model reports the problem with its own message
    return task if task in _DETECTION_TASKS else "detect"


def _run(
    task: str,
    paths: list[str],
    *,
    model: str | None,
    weights: Path | None,
    random_init: bool,
    save: Path | None,
    roi: str | None,
    batch_size: int,
    device: str,
    max_pixels: int | None,
    as_json: bool,
    as_csv: bool,
    options: dict[str, Any],
    backend: str | None = None,
    zero_shot: list[str] | None = None,
    foreign: Any = None,
) -> tuple[list[PredictionItem], list[Path], Console]:
    """Shared by every ``predict`` command: load, stream with progress, save overlays.

    Options are checked on the loaded model before any image is decoded, so a bad
    ``--classes`` fails fast with exit code 2.
    """
    from visiona.data.sources import expand_inputs
    from visiona.engine.predict.backends import BACKENDS
    from visiona.engine.predict.predictor import Predictor
    from visiona.ops.preprocess import Roi

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    parsed_roi = Roi.parse(roi) if roi else None
    if backend is not None:
        BACKENDS.get(backend)  # an unknown name fails before the model loads
    files = expand_inputs(paths)
    namer = OutputNamer(save, files, task=task, scanned=scanned_folders(paths)) if save else None
    err = stderr_console()
    if zero_shot is not None:
        from visiona.models.embedders import zero_shot_model

        loaded = zero_shot_model(model, zero_shot, weights_file=weights, console=err)
        predictor = Predictor(
            loaded, device=device, batch_size=batch_size, roi=parsed_roi,
            max_pixels=max_pixels, backend=backend,
        )  # fmt: skip
    elif model is not None and model.endswith(".tflite"):  # may warn: foreign preprocessing
        loaded = foreign_options.load_tflite_for_cli(model, task, foreign, err)
        predictor = Predictor(
            loaded, device=device, batch_size=batch_size, roi=parsed_roi,
            max_pixels=max_pixels, backend=backend,
        )  # fmt: skip
    else:
        predictor = _load_predictor(
            task, model, random_init, weights, err, device, batch_size, parsed_roi, max_pixels,
            backend,
        )  # fmt: skip
    predictor.task.check_options(predictor.weights, **options)
    items = _run_with_progress(predictor.stream(files, **options), len(files), err)
    saved = [_save_overlay(item, namer) for item in items if namer and item.ok]
    return items, saved, err


def _load_predictor(
    task, model, random_init, weights, err, device, batch_size, parsed_roi, max_pixels, backend
):
    from visiona.engine.predict.predictor import Predictor

    return Predictor.load(
        model,
        task=task,
        pretrained=not random_init,
        weights_file=weights,
        console=err,
        device=device,
        batch_size=batch_size,
        roi=parsed_roi,
        max_pixels=max_pixels,
        backend=backend,
    )


def _ok(items: list[PredictionItem]) -> list[PredictionItem]:
    return [item for item in items if item.ok]


def _count(value: int | list[Any], noun: str) -> str:
    number = value if isinstance(value, int) else len(value)
    return f"{number} {noun}{'s' * (number != 1)}"


def _exit_if_failed(items: list[PredictionItem]) -> None:
    if any(not item.ok for item in items):
        raise typer.Exit(1)


def _run_with_progress(
    stream: Iterable[PredictionItem], total: int, console: Console
) -> list[PredictionItem]:
    items = []
    with progress_bar("predicting", total, console) as progress:
        task = progress.add_task("predict", total=total)
        for item in stream:
            if item.error is not None:
                console.print(f"error: {item.error}", markup=False)
            items.append(item)
            progress.advance(task)
    return items


def _save_overlay(item: PredictionItem, namer: OutputNamer) -> Path:
    from PIL import Image

    path = namer.path_for(item.source)
    Image.fromarray(item.result.draw(item.image.array)).save(path)
    return path


def _print_json(items: list[PredictionItem]) -> None:
    json.dump([item.result.to_dict() for item in _ok(items)], sys.stdout, indent=2)
    sys.stdout.write("\n")


def _print_classification_csv(items: list[PredictionItem]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["source", "rank", "class_id", "label", "probability"])
    for item in _ok(items):
        for entry in item.result.to_dict()["top"]:
            writer.writerow(
                [item.source, entry["rank"], entry["class_id"], entry["label"],
                 f"{entry['probability']:.6f}"]
            )  # fmt: skip


def _print_classification_table(items: list[PredictionItem]) -> None:
    from rich.table import Table

    ok = _ok(items)
    table = Table(show_lines=False)
    for column, justify in (("image", "left"), ("#", "right"), ("label", "left"),
                            ("probability", "right"), ("class id", "right")):  # fmt: skip
        table.add_column(column, justify=justify)
    for item in ok:
        top = item.result.to_dict()["top"]
        for entry in top:
            table.add_row(
                item.source if entry["rank"] == 1 else "",
                str(entry["rank"]),
                entry["label"],
                f"{entry['probability']:.3f}",
                str(entry["class_id"]),
                end_section=entry is top[-1],
            )
    if ok:
        stdout_console().print(table)


def _print_detection_csv(items: list[PredictionItem]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["source", "class_id", "label", "score", "x0", "y0", "x1", "y1"])
    for item in _ok(items):
        detections = item.result
        for box, score, class_id in zip(
            detections.xyxy, detections.scores, detections.class_ids, strict=True
        ):
            writer.writerow(
                [item.source, int(class_id), detections.names[class_id], f"{score:.6f}",
                 *(f"{value:.2f}" for value in box)]
            )  # fmt: skip


def _print_detection_table(items: list[PredictionItem]) -> None:
    from collections import Counter

    from rich.table import Table

    ok = _ok(items)
    table = Table(show_lines=False)
    for column, justify in (("image", "left"), ("objects", "right"), ("classes", "left")):
        table.add_column(column, justify=justify)
    for item in ok:
        counts = Counter(item.result.labels).most_common()
        table.add_row(
            item.source,
            str(len(item.result)),
            ", ".join(f"{label} ×{count}" for label, count in counts) or "-",
        )
    if ok:
        stdout_console().print(table)


def _print_summary(
    items: list[PredictionItem], saved: list[Path], console: Console, summary: str
) -> None:
    """``summary`` (what was done), failures, and where overlays went, on stderr."""
    failed = sum(not item.ok for item in items)
    if failed:
        summary += f", {failed} could not be read"
    console.print(summary, markup=False)
    if saved:
        console.print(f"annotated images ({len(saved)}) saved to {saved[0].parent}:", markup=False)
        for path in saved:
            console.print(f"  {path}", markup=False)
