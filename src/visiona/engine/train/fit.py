"""``visiona train TASK``: the whole run, from data to checkpoints, logs and plots.

Classification is prepared here, the detection family in :mod:`visiona.engine.train.detect_run`;
both then go through the same fit (:func:`train`): Lightning trainer, checkpoints, resume,
interruption, early stopping and plots.

A run directory ``runs/<task>/<name>/`` holds ``config.yaml`` (resolved), ``split.json``,
``best.safetensors``/``last.safetensors`` (+ ``.json``), ``checkpoints/last.ckpt`` (full state for
``--resume``), ``logs/`` (CSV and TensorBoard) and ``curves.png``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.data.folder import DataSplits, load_splits
from visiona.engine.train.config import TrainConfig, load_yaml_config, save_yaml_config
from visiona.engine.train.run import PreparedRun, epoch_seeded_loaders, new_run_dir, read_metrics
from visiona.errors import ExitCode, InputNotFoundError, UsageError, VisionaError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.data.dataset import BadImage
    from visiona.models.load import LoadedModel


@dataclass
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    best_metrics: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0
    skipped: list[BadImage] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False
    task: str = "classify"
    problems: list[Any] = field(default_factory=list)


def resume_config(run_dir: Path, overrides: dict[str, Any]) -> TrainConfig:
    """The saved config of ``run_dir``; only ``epochs`` (to extend a run) and run-time options
    (device, workers) may change on resume."""
    saved = run_dir / "config.yaml"
    if not (run_dir / "checkpoints" / "last.ckpt").is_file() or not saved.is_file():
        raise InputNotFoundError(
            f"{run_dir} has no resumable state (checkpoints/last.ckpt and config.yaml)",
            hint="resume takes a run folder such as runs/classify/NAME or runs/detect/NAME",
        )
    config = TrainConfig.from_dict(load_yaml_config(saved))
    allowed = {"epochs", "device", "workers"}
    refused = sorted(k for k, v in overrides.items() if v is not None and k not in allowed)
    if refused:
        raise UsageError(
            f"--resume continues the saved run; it cannot change: {', '.join(refused)}",
            hint="only --epochs, --device and --workers may change; start a new run otherwise",
        )
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    return config


def _prepare_model(config: TrainConfig, classes: tuple[str, ...]) -> tuple[LoadedModel, Any]:
    """Load or build the network with a head for ``classes``; returns (loaded, preprocessing).

    Pretrained weights and visiona checkpoints keep their head only when it already predicts
    exactly these classes (continuing a run on the same data); otherwise the head is replaced.
    """
    from visiona.models.load import load_model
    from visiona.models.transfer import find_head, replace_head
    from visiona.tasks.classify import head_outputs
    from visiona.weights.checkpoint import checkpoint_path

    outputs = head_outputs(len(classes), config.loss)
    options = dict(config.arch_options)
    if config.image_size and config.model == "cnn":
        options.setdefault("image_size", config.image_size)
    if config.pretrained or checkpoint_path(config.model) is not None:
        if options:
            raise UsageError("--arch-opt shapes a new CNN; it cannot change pretrained weights")
        loaded = load_model(config.model, pretrained=True)
        same_head = find_head(loaded.module)[1].out_features == outputs
        if not same_head or loaded.weights.class_names != classes:
            replace_head(loaded.module, outputs)
    else:
        loaded = load_model(
            config.model, pretrained=False, num_classes=outputs, arch_options=options or None
        )
    preprocessing = loaded.weights.preprocessing
    if config.image_size and loaded.architecture != "cnn":
        size = config.image_size
        resize_size = None if preprocessing.resize == "stretch" else round(size / 0.875)
        preprocessing = replace(preprocessing, input_size=(size, size), resize_size=resize_size)
    return loaded, preprocessing


def _loaders(
    config: TrainConfig, preprocessing: Any, train_samples, val_samples, start_epoch: int = 0
):
    from visiona.data.dataset import ImageDataset
    from visiona.data.transforms import eval_transform, train_transform

    train_set = ImageDataset(
        train_samples, train_transform(preprocessing, config.augment, config.hflip)
    )
    val_set = ImageDataset(val_samples, eval_transform(preprocessing))
    return epoch_seeded_loaders(config, train_set, val_set, start_epoch)


def prepare_run(
    config: TrainConfig, *, resume: Path | None = None, console: Console | None = None
) -> PreparedRun:
    """Split the data (or reuse the run's split), check images, build the model and loaders."""
    from visiona.data.dataset import check_images
    from visiona.data.transforms import batch_mixer
    from visiona.engine.train.callbacks import RunArtifacts
    from visiona.engine.train.classify import ClassificationModule
    from visiona.engine.train.module import seed_for_epoch
    from visiona.weights.record import Weights

    config.validate()
    if resume is not None:
        run_dir = resume
        splits = DataSplits.from_json((run_dir / "split.json").read_text())
    else:
        splits = load_splits(
            config.data,
            val_fraction=config.val_fraction,
            test_fraction=config.test_fraction,
            seed=config.seed,
        )
        if not splits.train or not splits.val:
            raise UsageError(
                "the dataset is too small to split into train and validation images",
                hint="add images (at least two per class) or provide train/ and val/ folders",
            )
        run_dir = new_run_dir(Path(config.project), config.name, config.task)
        config.name = run_dir.name
        save_yaml_config(config, run_dir / "config.yaml")
        (run_dir / "split.json").write_text(splits.to_json())

    seed_for_epoch(config.seed, -1)
    train_samples, bad_train = check_images(
        splits.train, max_bad_fraction=config.max_bad_fraction, console=console,
        label="checking training images",
    )  # fmt: skip
    val_samples, bad_val = check_images(
        splits.val, max_bad_fraction=config.max_bad_fraction, console=console,
        label="checking validation images",
    )  # fmt: skip
    skipped = bad_train + bad_val
    if console is not None:
        for bad in skipped:
            console.print(f"skipped: {bad.path}: {bad.reason}", markup=False)

    loaded, preprocessing = _prepare_model(config, splits.classes)
    base = f"; base weights {loaded.weights.full_name}: {loaded.weights.license}"
    record = Weights(
        model=loaded.architecture,
        tag=run_dir.name,
        task="classify",
        preprocessing=preprocessing,
        class_names=splits.classes,
        license="yours (trained with visiona)" + (base if config.pretrained else ""),
        description=f"{loaded.architecture} trained on {config.data}",
    )
    mixer = batch_mixer(len(splits.classes), config.mixup, config.cutmix)
    if mixer is not None and config.loss == "bce":
        raise UsageError("--mixup/--cutmix work with cross-entropy; drop --loss bce")
    module = ClassificationModule(loaded.module, config, len(splits.classes), mixer)
    start_epoch = int(read_metrics(run_dir / "last.json").get("epoch", 0)) if resume else 0
    train_loader, val_loader = _loaders(
        config, preprocessing, train_samples, val_samples, start_epoch
    )
    artifacts = RunArtifacts(
        run_dir, loaded.architecture, record, loaded.arch_options, config.to_dict(), config.monitor
    )
    return PreparedRun(
        config, run_dir, splits, module, train_loader, val_loader, artifacts, skipped
    )


def make_trainer(
    config: TrainConfig,
    run_dir: Path,
    callbacks: list[Any],
    console: Console | None,
    progress: bool,
    max_epochs: int | None = None,
):
    """A Lightning Trainer with the run's loggers, device and precision."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Checkpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from visiona.engine.predict.backends import resolve_device

    show_progress = progress and console is not None and console.is_terminal
    if show_progress:
        from lightning.pytorch.callbacks import RichProgressBar

        callbacks = [*callbacks, RichProgressBar()]
    device = resolve_device(config.device)
    accelerator = "gpu" if device.startswith("cuda") else ("mps" if device == "mps" else "cpu")
    log_dir = run_dir / "logs"
    # Each fit (first run, each resume) logs into its own part; merge_csv_logs joins them.
    part = f"part{len(list((log_dir / 'csv').glob('part*'))) + 1}"
    return pl.Trainer(
        default_root_dir=str(run_dir),
        max_epochs=max_epochs or config.epochs,
        accelerator=accelerator,
        devices=[int(device.split(":")[1])] if ":" in device else 1,
        precision=config.precision,
        deterministic=config.deterministic,
        callbacks=callbacks,
        logger=[
            CSVLogger(str(log_dir), name="csv", version=part),
            TensorBoardLogger(str(log_dir), name="tensorboard", version=part),
        ],
        # Our RunArtifacts is the checkpoint callback; without it, Lightning must not add its own.
        enable_checkpointing=any(isinstance(cb, Checkpoint) for cb in callbacks),
        enable_progress_bar=show_progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
    )


def train(
    config: TrainConfig,
    *,
    resume: Path | None = None,
    console: Console | None = None,
    progress: bool = True,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Train a model for ``config.task`` per ``config`` (or continue the run in ``resume``).

    Args:
        config: Options of the run.
        resume: A run folder to continue exactly where its last checkpoint stopped.
        console: Where progress bars and messages go (``None``: silent).
        progress: Show progress bars when the console is a terminal.
        callbacks: Extra Lightning callbacks.

    Raises:
        TrainingInterruptedError: Ctrl-C; the last complete epoch is saved and resumable.
        UsageError / InputNotFoundError: Bad options or data (one-line messages).
        NonFiniteLossError: The loss diverged; nothing was saved for that state.
    """

    with quiet_lightning():
        return _train(config, resume, console, progress, callbacks or [])


train_classifier = train
"""Former name of :func:`train` (classification was the first task)."""


class TrainingInterruptedError(VisionaError):
    """Ctrl-C during training; the last finished epoch is saved."""

    exit_code = ExitCode.INTERRUPTED


def _train(
    config: TrainConfig,
    resume: Path | None,
    console: Console | None,
    progress: bool,
    extra_callbacks: list[Any],
) -> TrainResult:
    import torch

    from visiona.engine.train.callbacks import NonFiniteLossGuard

    if config.task == "classify":
        run = prepare_run(config, resume=resume, console=console)
    else:
        from visiona.engine.train.detect_run import prepare_detection_run

        run = prepare_detection_run(config, resume=resume, console=console)
    callbacks: list[Any] = [run.artifacts, NonFiniteLossGuard(), *extra_callbacks]
    if config.patience > 0:
        from lightning.pytorch.callbacks import EarlyStopping

        mode = "min" if config.monitor.endswith("loss") else "max"
        callbacks.append(EarlyStopping(config.monitor, patience=config.patience, mode=mode))
    if config.schedule != "none":
        from lightning.pytorch.callbacks import LearningRateMonitor

        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    trainer = make_trainer(config, run.run_dir, callbacks, console, progress)
    ckpt = run.run_dir / "checkpoints" / "last.ckpt" if resume is not None else None
    sigint = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(run.module, run.train_loader, run.val_loader, ckpt_path=ckpt, weights_only=True)
    except SystemExit:
        # Lightning turns Ctrl-C into sys.exit(1) after its graceful shutdown, leaving SIGINT
        # ignored; give the caller (a notebook, a script) its Ctrl-C back.
        signal.signal(signal.SIGINT, sigint)
        if not trainer.interrupted:
            raise
        _plots(run.run_dir, config.task)
        saved = read_metrics(run.run_dir / "last.json").get("epoch", 0)
        raise TrainingInterruptedError(
            f"training interrupted during epoch {trainer.current_epoch + 1}; "
            f"epochs 1-{saved} are saved"
            if saved
            else "training interrupted before the first epoch ended",
            hint=f"resume with: visiona train {config.task} --resume {run.run_dir}",
        ) from None
    except torch.cuda.OutOfMemoryError:
        raise VisionaError(
            "out of GPU memory", hint="lower --batch-size or --image-size, or use --device cpu"
        ) from None
    run_dir = run.run_dir
    files = _plots(run_dir, config.task)
    best = run_dir / "best.safetensors"
    last = run_dir / "last.safetensors"
    return TrainResult(
        run_dir=run_dir,
        best_checkpoint=best if best.exists() else None,
        last_checkpoint=last if last.exists() else None,
        best_metrics=read_metrics(run_dir / "best.json"),
        epochs_run=trainer.current_epoch,
        skipped=run.skipped,
        files=files,
        interrupted=trainer.interrupted,
        task=config.task,
        problems=run.problems,
    )


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Hide Lightning's start-up chatter and warnings visiona handles itself, for this run only."""
    import lightning.pytorch  # noqa: F401  (its import sets its own log level; override after)

    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for pattern in (
                r".*module\(s\) in eval mode.*",  # frozen BatchNorm blocks, on purpose
                r".*LeafSpec.*",
                r".*does not have many workers.*",  # workers are the user's choice (--workers)
                r".*The number of training batches .* is smaller than the logging interval.*",
            ):
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def merge_csv_logs(run_dir: Path) -> Path | None:
    """Join the CSV logs of every fit of a run into ``logs/metrics.csv`` (a resumed run's rows
    replace those of epochs it ran again)."""
    import csv

    parts = sorted(
        (run_dir / "logs" / "csv").glob("part*/metrics.csv"), key=lambda p: int(p.parent.name[4:])
    )
    if not parts:
        return None
    rows: list[dict[str, str]] = []
    columns: list[str] = []
    for part in parts:
        with open(part, newline="") as handle:
            reader = csv.DictReader(handle)
            new_rows = list(reader)
            columns += [c for c in reader.fieldnames or [] if c not in columns]
        epochs = {row.get("epoch") for row in new_rows if row.get("epoch")}
        rows = [row for row in rows if row.get("epoch") not in epochs] + new_rows
    merged = run_dir / "logs" / "metrics.csv"
    with open(merged, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return merged


_DETECTION_PANELS = (("loss", ("train/loss",)), ("mAP", ("val/map50", "val/map", "val/mask_map50")))


def _plots(run_dir: Path, task: str = "classify") -> dict[str, Path]:
    from visiona.viz.plots import plot_training_curves

    metrics_csv = merge_csv_logs(run_dir)
    if metrics_csv is None:
        return {}
    panels = None if task == "classify" else _DETECTION_PANELS
    return {
        "metrics": metrics_csv,
        "curves": plot_training_curves(metrics_csv, run_dir / "curves.png", panels=panels),
    }
