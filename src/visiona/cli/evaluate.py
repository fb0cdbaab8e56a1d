"""``visiona evaluate classify|detect``: measure a model on labelled images."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from visiona.cli.conventions import deprecated_option, fresh_path, split_ints, take_deprecated
from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.evaluate.classify import EvaluationReport
    from visiona.engine.evaluate.detect import DetectionEvaluation
    from visiona.models.load import LoadedModel

app = typer.Typer(help="Measure a model on labelled images.", no_args_is_help=True)

SUBSET_HELP = (
    "auto: test/ (else val/) of a split dataset, else the whole folder (or with --split its test "
    "part, else val); train, val or test: that split folder or that part of --split."
)


@app.command("classify")
def classify(
    model: str = typer.Option(
        ..., "--model", "-m", help="Checkpoint (runs/classify/NAME/best) or model name."
    ),
    data: Path = typer.Option(
        ..., "--data", "-d", help="Labelled folder: DIR/<class>/... or DIR/{train,val,test}/..."
    ),
    subset: str = typer.Option("auto", "--subset", help=SUBSET_HELP),
    split: Path = typer.Option(
        None, "--split", help="A training run's split.json (paths relative to --data)."
    ),
    top_k: list[str] = typer.Option(
        None, "--top-k", "-k", help="Top-k accuracies to report: 1,5 or repeated (default 1,5)."
    ),
    tta: bool = typer.Option(False, "--tta", help="Average predictions with mirrored images."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Folder for metrics.json and plots (default: RUN_DIR/eval-DATA for a run's "
        "checkpoint, else runs/evaluate/MODEL-DATA; an existing one gets -2, -3...).",
    ),
    workers: int = typer.Option(0, "--workers", min=0, help="Image-decoding worker processes."),
    max_bad_fraction: float = typer.Option(
        0.05, "--max-bad-fraction", min=0.0, max=1.0, help="Abort above this share of bad images."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON to stdout."),
    backend: str = typer.Option(
        None, "--backend", help="torch, compiled, onnx or tflite (default: the file's runtime)."
    ),
    out: Path = deprecated_option("--out", new="-o/--output"),
) -> None:
    """Evaluate a classifier: accuracy, top-k, per-class precision/recall/F1, confusions, plots.

    Exit codes: 0 evaluated (unreadable images below the limit are skipped and listed),
    1 too many unreadable images, 2 bad usage (unknown class, missing folder, ...).
    """
    from visiona.engine.evaluate.classify import evaluate_classifier, evaluation_samples
    from visiona.models.load import load_model

    err = stderr_console()
    if model.endswith(".tflite"):  # a foreign file warns in one line
        from visiona.cli.foreign import load_tflite_for_cli

        loaded = load_tflite_for_cli(model, "classify", None, err)
    else:
        loaded = load_model(model, task="classify", console=err)
    from visiona.engine.evaluate.through_backend import through_backend

    loaded = through_backend(loaded, backend)  # .onnx/.tflite files run on their own runtime
    samples = evaluation_samples(data, loaded.weights.class_names, subset, split)
    out = take_deprecated(output, out, "--out", "-o/--output")
    out_dir = out if out is not None else default_out_dir(loaded, data, subset)
    _refuse_output_inside_data(out_dir, data)
    out_dir = fresh_path(out_dir)
    _note_training_images(loaded, data, subset, split, err)
    report = evaluate_classifier(
        loaded,
        samples,
        top_k=split_ints(top_k, "--top-k") or None,
        batch_size=batch_size,
        tta=tta,
        device=device,
        out_dir=out_dir,
        num_workers=workers,
        console=err,
        max_bad_fraction=max_bad_fraction,
    )
    if as_json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_report(report, stdout_console())
    for bad in report.skipped:
        err.print(f"skipped {bad.path}: {bad.reason}", markup=False)
    err.print(f"wrote {len(report.files)} files to {out_dir}:", markup=False)
    for path in report.files.values():
        err.print(f"  {path}", markup=False)


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run folder of a checkpoint saved as ``.../runs/TASK/NAME/FILE`` (or in a
    ``checkpoints/`` folder inside it), else ``None``."""
    folder = checkpoint.resolve().parent
    if folder.name == "checkpoints" and folder.parent.parent.parent.name == "runs":
        return folder.parent
    return folder if folder.parent.parent.name == "runs" else None


def default_out_dir(loaded: LoadedModel, data: Path, subset: str = "auto") -> Path:
    """``RUN_DIR/eval-DATA`` for a run's checkpoint, else ``runs/evaluate/MODEL-DATA``.

    ``DATA`` is the data folder's name, plus ``-SUBSET`` when a subset was asked for.
    """
    data_name = Path(data).expanduser().resolve().name or "data"
    if subset != "auto":
        data_name += f"-{subset}"
    if loaded.origin == "checkpoint":
        checkpoint = Path(loaded.source)
        run_dir = run_dir_of(checkpoint)
        if run_dir is not None:
            return run_dir / f"eval-{data_name}"
        model_name = checkpoint.name.removesuffix(".safetensors")
    else:
        model_name = loaded.source.replace("/", "_")
    return Path("runs") / "evaluate" / f"{model_name}-{data_name}"


def _refuse_output_inside_data(out_dir: Path, data: Path) -> None:
    out_resolved = out_dir.expanduser().resolve()
    data_resolved = Path(data).expanduser().resolve()
    if out_resolved == data_resolved or data_resolved in out_resolved.parents:
        raise UsageError(
            f"--output {str(out_dir)!r} is inside the dataset {str(data)!r}; choose another folder",
            hint="plots written there would become part of the data",
        )


def _note_training_images(
    loaded: LoadedModel, data: Path, subset: str, split: Path | None, console: Console
) -> None:
    """Warn when a run's checkpoint is measured on a whole folder that its split.json covers."""
    from visiona.data.folder import has_explicit_splits

    if loaded.origin != "checkpoint" or subset != "auto" or split is not None:
        return
    run_dir = run_dir_of(Path(loaded.source))
    if run_dir is None or not (run_dir / "split.json").is_file():
        return
    if has_explicit_splits(Path(data).expanduser()):
        return
    from visiona.engine.train.config import load_yaml_config

    trained_on = (
        load_yaml_config(run_dir / "config.yaml").get("data")
        if (run_dir / "config.yaml").is_file()
        else None
    )
    if (
        trained_on
        and Path(str(trained_on)).expanduser().resolve() != Path(data).expanduser().resolve()
    ):
        return  # another folder than the one the run split: nothing of it was trained on
    console.print(
        f"note: evaluating on all of {data}, which may include this run's training images; "
        f"for held-out accuracy add --subset val --split {run_dir / 'split.json'}",
        markup=False,
    )


def _print_report(report: EvaluationReport, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    parts = [f"accuracy {report.accuracy:.2%}"]
    parts += [f"top-{k} {value:.2%}" for k, value in sorted(report.top_k.items()) if k != 1]
    parts.append(f"macro F1 {report.macro_f1:.3f}")
    summary = ", ".join(parts) + f" on {report.num_images} images"
    if report.tta:
        summary += " (flip TTA)"
    console.print(summary, markup=False)

    table = Table(show_lines=False)
    for column, justify in (("class", "left"), ("precision", "right"), ("recall", "right"),
                            ("F1", "right"), ("support", "right")):  # fmt: skip
        table.add_column(column, justify=justify)
    for row in report.per_class:
        table.add_row(
            Text(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    console.print(table)

    if report.most_confused:
        console.print("most confused (true → predicted: images):", markup=False)
        for true, predicted, count in report.most_confused:
            console.print(f"  {true} → {predicted}: {count}", markup=False)
    else:
        console.print("no confusions", markup=False)


@app.command("detect")
def detect(
    model: str = typer.Option(
        ..., "--model", "-m", help="Checkpoint (runs/detect/NAME/best) or detector name."
    ),
    data: Path = typer.Option(..., "--data", "-d", help="Labelled COCO, YOLO or VOC data set."),
    subset: str = typer.Option(
        "auto", "--subset", help="auto (test, else val, else all), train, val, test or all."
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Folder for metrics.json and plots (default: RUN_DIR/eval-DATA for a run's "
        "checkpoint, else runs/evaluate/MODEL-DATA; an existing one gets -2, -3...).",
    ),
    conf: float = typer.Option(
        0.001,
        "--conf",
        min=0.0,
        max=1.0,
        help="Keep detections scoring at least this (COCO mAP wants nearly all: 0.001; "
        "predict's 0.25 cuts the precision-recall curve short).",
    ),
    iou: float = typer.Option(
        0.7, "--iou", min=0.0, max=1.0, help="Class-aware NMS IoU threshold (1 disables it)."
    ),
    max_det: int = typer.Option(
        100, "--max-det", min=1, help="At most this many detections per image (COCO: 100)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON to stdout."),
    out: Path = deprecated_option("--out", new="-o/--output"),
) -> None:
    """Evaluate a detector: COCO mAP@[.5:.95], mAP@.5, mAP@.75, AR, per-class AP, PR curves,
    confusion matrix (masks too for instance segmentation models).

    Exit codes: 0 evaluated (label problems are reported and left out), 2 bad usage.
    """
    from visiona.engine.evaluate.detect import evaluate_detector
    from visiona.models.load import load_model
    from visiona.weights.checkpoint import checkpoint_path, read_checkpoint_info

    err = stderr_console()
    path = checkpoint_path(model)
    task = "detect"
    if path is not None:
        task = read_checkpoint_info(path).weights.task
    else:
        from visiona.models.catalog import get_spec

        task = get_spec(model)[0].task
    if task not in ("detect", "segment-instances", "keypoints"):
        raise UsageError(f"{model!r} is a {task!r} model", hint="use: visiona evaluate classify")
    loaded = load_model(model, task=task, console=err)
    out = take_deprecated(output, out, "--out", "-o/--output")
    out_dir = out if out is not None else default_out_dir(loaded, data, subset)
    _refuse_output_inside_data(out_dir, data)
    out_dir = fresh_path(out_dir)
    report = evaluate_detector(
        loaded, data, subset=subset, batch_size=batch_size, device=device, out_dir=out_dir,
        console=err, conf=conf, iou=iou, max_det=max_det,
    )  # fmt: skip
    for problem in report.problems[:20]:
        err.print(str(problem), markup=False)
    if len(report.problems) > 20:
        err.print(f"... {len(report.problems) - 20} more label problems", markup=False)
    for file, reason in report.unreadable:
        err.print(f"skipped {file}: {reason}", markup=False)
    if as_json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_detection_report(report, stdout_console())
    err.print(f"wrote {len(report.files)} files to {out_dir}:", markup=False)
    for file_path in report.files.values():
        err.print(f"  {file_path}", markup=False)


def _print_detection_report(report: DetectionEvaluation, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    settings = report.settings
    if settings:
        console.print(
            f"prediction settings: conf {settings['conf']:g}, iou {settings['iou']:g}, "
            f"max_det {settings['max_det']}",
            markup=False,
        )

    for label, part in (("boxes", report.boxes), ("masks", report.masks)):
        if part is None:
            continue
        console.print(
            f"{label}: mAP@[.5:.95] {part.map:.4f}, mAP@.5 {part.map50:.4f}, "
            f"mAP@.75 {part.map75:.4f}, AR@100 {part.mar100:.4f} "
            f"on {report.num_images} {report.subset!r} images",
            markup=False,
        )
        table = Table(show_lines=False)
        for column in ("class", "AP", "AP50", "AR100", "objects"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for row in part.per_class:
            if row.num_gt == 0 and row.ap < 0:
                continue
            table.add_row(
                Text(row.name), f"{row.ap:.4f}", f"{row.ap50:.4f}", f"{row.ar100:.4f}",
                str(row.num_gt),
            )  # fmt: skip
        console.print(table)
