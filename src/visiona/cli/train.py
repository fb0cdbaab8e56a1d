"""``visiona train classify``: from-scratch or transfer-learning training on an image folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from visiona.cli.output import stderr_console
from visiona.errors import UsageError

app = typer.Typer(help="Train models (runs land in runs/<task>/<name>/).", no_args_is_help=True)


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
) -> None:
    """Train an image classifier: from scratch (the course CNN) or by transfer learning.

    Examples:
      visiona train classify --data digits/train --epochs 15
      visiona train classify --data pets/ -m efficientnet_lite0 --pretrained --freeze backbone
    """
    from visiona.engine.config import TrainConfig, load_yaml_config
    from visiona.engine.train import resume_config, train_classifier

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
    overrides = {k: v for k, v in cli_values.items() if v is not None}
    if arch_opt:
        overrides["arch_options"] = _parse_arch_options(arch_opt)
    console = stderr_console()
    if resume is not None:
        config = resume_config(resume, overrides)
    else:
        values = load_yaml_config(config_file) if config_file else {}
        values.update(overrides)
        config = TrainConfig.from_dict(values)
    if lr_find:
        from visiona.engine.lr_find import find_learning_rate

        result = find_learning_rate(config, console=console)
        console.print(f"suggested learning rate: {result.suggestion:.2e}", markup=False)
        console.print(f"plot: {result.plot}", markup=False)
        return
    result = train_classifier(config, resume=resume, console=console)
    _report(result, console)


def _report(result, console) -> None:
    metrics = result.best_metrics
    if result.interrupted:
        console.print(
            f"interrupted; resume with: visiona train classify --resume {result.run_dir}",
            markup=False,
        )
    if metrics:
        console.print(
            f"best epoch {int(metrics.get('epoch', 0))}: val/acc {metrics.get('val/acc', 0):.4f}, "
            f"val/loss {metrics.get('val/loss', 0):.4f}",
            markup=False,
        )
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
            f"predict with: visiona predict classify IMAGES --model {result.best_checkpoint.with_suffix('')}",
            markup=False,
        )
