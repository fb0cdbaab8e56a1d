"""``visiona train TASK``: classifiers on image folders; detectors on COCO/YOLO/VOC data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from visiona.cli.output import stderr_console
from visiona.errors import UsageError

app = typer.Typer(help="Train models (runs land in runs/<task>/<name>/).", no_args_is_help=True)
_JSON = typer.Option(
    False, "--json", help="Also print the run's summary (folder, checkpoints, metrics) as JSON."
)


def _parse_arch_options(values: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--arch-opt {item!r}: use KEY=VALUE, e.g. blocks=4 or dense=256,128")
        options[key.strip()] = value.strip()
    return options


@app.command("classify")
def classify(
    data: str = typer.Option(
        None, "--data", "-d", help="Image folder: DIR/<class>/*.jpg or train/ + val/."
    ),
    model: str = typer.Option(
        None, "--model", "-m", help="cnn (default), a catalogue name or a checkpoint."
    ),
    pretrained: bool = typer.Option(
        None, "--pretrained/--scratch", help="Start from pretrained weights."
    ),
    arch_opt: list[str] = typer.Option(
        None,
        "--arch-opt",
        help="CNN shape: blocks=3, width=32, dense=128, dropout=0.3, batch_norm=true.",
    ),
    image_size: int = typer.Option(None, "--image-size", help="Network input size (square)."),
    epochs: int = typer.Option(None, "--epochs", "-e", help="Epochs (default 10)."),
    batch_size: int = typer.Option(None, "--batch-size", "-b", help="Batch size (default 32)."),
    lr: float = typer.Option(
        None, "--lr", help="Learning rate, of the head when fine-tuning (1e-3)."
    ),
    backbone_lr: float = typer.Option(
        None, "--backbone-lr", help="LR of the pretrained part (default lr/10)."
    ),
    optimizer: str = typer.Option(
        None, "--optimizer", help="sgd, adam, adamw (default), rmsprop, adagrad, adadelta."
    ),
    momentum: float = typer.Option(None, "--momentum", help="SGD/RMSprop momentum (0.9)."),
    nesterov: bool = typer.Option(
        None, "--nesterov/--no-nesterov", help="Nesterov momentum for SGD."
    ),
    weight_decay: float = typer.Option(None, "--weight-decay", help="Weight decay (1e-4)."),
    schedule: str = typer.Option(
        None, "--schedule", help="none, step, exponential, cosine (default), plateau."
    ),
    step_size: int = typer.Option(
        None, "--step-size", help="Epochs per step of the step schedule (10)."
    ),
    gamma: float = typer.Option(
        None, "--gamma", help="LR factor of step/exponential/plateau (0.1)."
    ),
    warmup_epochs: int = typer.Option(
        None, "--warmup-epochs", help="Linear warm-up epochs before cosine (0)."
    ),
    loss: str = typer.Option(None, "--loss", help="cross_entropy or bce (2 classes)."),
    label_smoothing: float = typer.Option(None, "--label-smoothing", help="Label smoothing (0)."),
    augment: str = typer.Option(None, "--augment", help="none, light (default) or strong."),
    hflip: bool = typer.Option(
        None, "--hflip/--no-hflip", help="Mirror images in augmentation (off for digits/text)."
    ),
    mixup: float = typer.Option(None, "--mixup", help="MixUp alpha (e.g. 0.2)."),
    cutmix: float = typer.Option(None, "--cutmix", help="CutMix alpha (e.g. 1.0)."),
    freeze: str = typer.Option(
        None, "--freeze", help="none or backbone (train only the new head)."
    ),
    unfreeze: str = typer.Option(None, "--unfreeze", help="Blocks to fine-tune: last:N or names."),
    unfreeze_epoch: int = typer.Option(
        None, "--unfreeze-epoch", help="Epoch the fine-tune stage starts."
    ),
    patience: int = typer.Option(None, "--patience", help="Early stopping patience (0: off)."),
    monitor: str = typer.Option(None, "--monitor", help="val/acc or val/loss."),
    val_fraction: float = typer.Option(None, "--val", help="Validation share of each class (0.2)."),
    test_fraction: float = typer.Option(None, "--test", help="Test share of each class (0)."),
    seed: int = typer.Option(None, "--seed", help="Seed of split, init and augmentation (0)."),
    deterministic: bool = typer.Option(None, "--deterministic/--no-deterministic"),
    name: str = typer.Option(None, "--name", help="Run name (folder under runs/classify/)."),
    project: str = typer.Option(None, "--project", help="Runs folder (default: runs)."),
    device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N, mps."),
    precision: str = typer.Option(None, "--precision", help="32-true, 16-mixed, bf16-mixed."),
    workers: int = typer.Option(None, "--workers", help="Data-loading worker processes."),
    max_bad_fraction: float = typer.Option(
        None, "--max-bad-fraction", help="Unreadable images tolerated (0.05)."
    ),
    config_file: Path = typer.Option(None, "--config", help="YAML file of options (CLI wins)."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this folder exactly."),
    lr_find: bool = typer.Option(
        False, "--lr-find", help="Run the LR finder, save its plot, and stop."
    ),
    no_report: bool = typer.Option(False, "--no-report", help="Skip writing report.html."),
    as_json: bool = _JSON,
) -> None:
    """Train an image classifier: from scratch (the course CNN) or by transfer learning.

    Examples:
      visiona train classify --data digits/train --epochs 15
      visiona train classify --data pets/ -m efficientnet_lite0 --pretrained --freeze backbone
    """
    cli_values = {
        "data": data, "model": model, "pretrained": pretrained, "image_size": image_size,
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "backbone_lr": backbone_lr,
        "optimizer": optimizer, "momentum": momentum, "nesterov": nesterov,
        "weight_decay": weight_decay, "schedule": schedule, "step_size": step_size,
        "gamma": gamma, "warmup_epochs": warmup_epochs, "loss": loss,
        "label_smoothing": label_smoothing, "augment": augment, "hflip": hflip, "mixup": mixup, "cutmix": cutmix,
        "freeze": freeze, "unfreeze": unfreeze, "unfreeze_epoch": unfreeze_epoch,
        "patience": patience, "monitor": monitor, "val_fraction": val_fraction,
        "test_fraction": test_fraction, "seed": seed, "deterministic": deterministic,
        "name": name, "project": project, "device": device, "precision": precision,
        "workers": workers, "max_bad_fraction": max_bad_fraction,
    }  # fmt: skip
    _run(
        "classify", cli_values, arch_opt, config_file, resume, lr_find, as_json=as_json,
        report=not no_report,
    )  # fmt: skip


def _run(
    task: str,
    cli_values: dict[str, Any],
    arch_opt: list[str] | None,
    config_file: Path | None,
    resume: Path | None,
    lr_find: bool = False,
    *,
    as_json: bool = False,
    report: bool = True,
) -> None:
    """Shared by every ``train`` command: options < YAML < CLI, then train and report."""
    from visiona.engine.train.config import TrainConfig, load_yaml_config
    from visiona.engine.train.fit import resume_config, train

    overrides = {k: v for k, v in cli_values.items() if v is not None}
    if arch_opt:
        overrides["arch_options"] = _parse_arch_options(arch_opt)
    console = stderr_console()
    if resume is not None:
        config = resume_config(resume, overrides)
        if config.task != task:
            raise UsageError(
                f"{resume} is a {config.task!r} run",
                hint=f"resume it with: visiona train {config.task} --resume {resume}",
            )
    else:
        values = load_yaml_config(config_file) if config_file else {}
        values.update(overrides)
        if values.setdefault("task", task) != task:
            raise UsageError(f"the config file is for task {values['task']!r}, not {task!r}")
        config = TrainConfig.from_dict(values)
    if lr_find:
        from visiona.engine.train.lr_find import find_learning_rate

        result = find_learning_rate(config, console=console)
        console.print(f"suggested learning rate: {result.suggestion:.2e}", markup=False)
        console.print(f"plot: {result.plot}", markup=False)
        if as_json:
            _print_json({"suggested_lr": result.suggestion, "plot": str(result.plot)})
        return
    trained = train(config, resume=resume, console=console)
    if report and trained.best_checkpoint is not None:
        from visiona.engine.report import write_report

        with console.status("writing report.html"):
            trained.files["report"] = write_report(trained.run_dir).path
    _report(trained, console)
    if as_json:
        _print_json(_result_dict(trained))


def _print_json(data: dict[str, Any]) -> None:
    import json
    import sys

    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _result_dict(result: Any) -> dict[str, Any]:
    """``--json``: the run's folder, checkpoints, best metrics and what was left out."""
    return {
        "task": result.task,
        "run_dir": str(result.run_dir),
        "best_checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None,
        "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        "best_metrics": dict(result.best_metrics),
        "epochs_run": result.epochs_run,
        "interrupted": result.interrupted,
        "files": {name: str(path) for name, path in result.files.items()},
        "skipped_images": len(result.skipped),
        "label_problems": len(result.problems),
    }


def _report(result, console) -> None:
    metrics = result.best_metrics
    task = result.task
    if result.interrupted:
        console.print(
            f"interrupted; resume with: visiona train {task} --resume {result.run_dir}",
            markup=False,
        )
    if metrics:
        shown = ("val/acc", "val/loss") if task == "classify" else ("val/map50", "val/map")
        if "val/mask_map50" in metrics:
            shown += ("val/mask_map50",)
        values = ", ".join(f"{name} {metrics.get(name, 0):.4f}" for name in shown)
        console.print(f"best epoch {int(metrics.get('epoch', 0))}: {values}", markup=False)
    if result.problems:
        console.print(f"{len(result.problems)} label problem(s) reported above", markup=False)
    if result.skipped:
        console.print(f"{len(result.skipped)} unreadable image(s) were skipped", markup=False)
    console.print(f"run folder: {result.run_dir}", markup=False)
    for label, path in (
        ("best checkpoint", result.best_checkpoint),
        ("last checkpoint", result.last_checkpoint),
        *result.files.items(),
    ):
        if path:
            console.print(f"  {label}: {path}", markup=False)
    if result.best_checkpoint:
        console.print(
            f"predict with: visiona predict {'classify' if task == 'classify' else 'detect'} "
            f"IMAGES --model {result.best_checkpoint.with_suffix('')}",
            markup=False,
        )


def _detection_command(task: str, default_model: str, what: str) -> None:
    """Register ``visiona train <task>`` for a detection-family task."""

    def command(
        data: str = typer.Option(
            None, "--data", "-d", help="Data set folder (COCO JSON, YOLO data.yaml or VOC)."
        ),
        model: str = typer.Option(
            None,
            "--model",
            "-m",
            help=f"{default_model} (default), a catalogue name or a checkpoint.",
        ),
        pretrained: bool = typer.Option(
            None, "--pretrained/--scratch", help="Start from pretrained weights (new head)."
        ),
        arch_opt: list[str] = typer.Option(
            None, "--arch-opt", help="Network options, e.g. min_size=160 or width=64."
        ),
        epochs: int = typer.Option(None, "--epochs", "-e", help="Epochs (default 20)."),
        batch_size: int = typer.Option(None, "--batch-size", "-b", help="Batch size (default 8)."),
        lr: float = typer.Option(None, "--lr", help="Learning rate of the heads (2e-3)."),
        backbone_lr: float = typer.Option(
            None, "--backbone-lr", help="LR of the backbone (default lr, lr/10 if pretrained)."
        ),
        optimizer: str = typer.Option(
            None, "--optimizer", help="sgd, adam, adamw (default), rmsprop, adagrad, adadelta."
        ),
        momentum: float = typer.Option(None, "--momentum", help="SGD/RMSprop momentum (0.9)."),
        weight_decay: float = typer.Option(None, "--weight-decay", help="Weight decay (1e-4)."),
        schedule: str = typer.Option(
            None, "--schedule", help="none, step, exponential, cosine (default), plateau."
        ),
        warmup_epochs: int = typer.Option(
            None, "--warmup-epochs", help="Linear warm-up epochs before cosine (0)."
        ),
        augment: str = typer.Option(None, "--augment", help="none, light (default) or strong."),
        hflip: bool = typer.Option(None, "--hflip/--no-hflip", help="Mirror images."),
        freeze: str = typer.Option(None, "--freeze", help="none or backbone (train the heads)."),
        unfreeze: str = typer.Option(
            None, "--unfreeze", help="all: unfreeze the backbone at --unfreeze-epoch."
        ),
        unfreeze_epoch: int = typer.Option(
            None, "--unfreeze-epoch", help="Epoch the backbone joins training."
        ),
        patience: int = typer.Option(None, "--patience", help="Early stopping patience (0: off)."),
        monitor: str = typer.Option(None, "--monitor", help="val/map50 (default) or val/map."),
        val_fraction: float = typer.Option(
            None, "--val", help="Validation share when the data set has no val split (0.2)."
        ),
        test_fraction: float = typer.Option(None, "--test", help="Test share (0)."),
        seed: int = typer.Option(None, "--seed", help="Seed of split, init and augmentation (0)."),
        deterministic: bool = typer.Option(None, "--deterministic/--no-deterministic"),
        name: str = typer.Option(None, "--name", help=f"Run name (folder under runs/{task}/)."),
        project: str = typer.Option(None, "--project", help="Runs folder (default: runs)."),
        device: str = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N, mps."),
        precision: str = typer.Option(None, "--precision", help="32-true, 16-mixed, bf16-mixed."),
        workers: int = typer.Option(None, "--workers", help="Data-loading worker processes."),
        config_file: Path = typer.Option(None, "--config", help="YAML file of options."),
        resume: Path = typer.Option(None, "--resume", help="Continue the run in this folder."),
        no_report: bool = typer.Option(False, "--no-report", help="Skip writing report.html."),
        as_json: bool = _JSON,
    ) -> None:
        cli_values = {
            "data": data, "model": model, "pretrained": pretrained, "epochs": epochs,
            "batch_size": batch_size, "lr": lr, "backbone_lr": backbone_lr,
            "optimizer": optimizer, "momentum": momentum, "weight_decay": weight_decay,
            "schedule": schedule, "warmup_epochs": warmup_epochs, "augment": augment,
            "hflip": hflip, "freeze": freeze, "unfreeze": unfreeze,
            "unfreeze_epoch": unfreeze_epoch, "patience": patience, "monitor": monitor,
            "val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed,
            "deterministic": deterministic, "name": name, "project": project, "device": device,
            "precision": precision, "workers": workers,
        }  # fmt: skip
        _run(
            task, cli_values, arch_opt, config_file, resume, as_json=as_json,
            report=not no_report,
        )  # fmt: skip

    command.__doc__ = (
        f"Train {what} on a COCO, YOLO or VOC data set (torchvision detector, Lightning).\n\n"
        f"Examples:\n  visiona data make shapes shapes/\n"
        f"  visiona train {task} --data shapes/ --epochs 20\n"
        f"  visiona train {task} --data my_coco/ -m {default_model}"
    )
    app.command(task)(command)


_detection_command("detect", "fasterrcnn_small", "an object detector (boxes)")
_detection_command(
    "segment-instances", "maskrcnn_small", "an instance segmentation model (boxes and masks)"
)
_detection_command("keypoints", "keypointrcnn_small", "a keypoint detector (boxes and keypoints)")
