"""Training callbacks: run artefacts (best/last checkpoints), a NaN guard, a seeded sampler,
progress (a Rich bar on terminals, one plain line per epoch elsewhere) and loggers.

Epochs are counted from 1 everywhere a person reads them: the bar, the per-epoch lines, the logs
(CSV and TensorBoard ``epoch``), the checkpoints' JSON, curves and messages.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import Sampler

from visiona.errors import VisionaError
from visiona.io.atomic import atomic_path, atomic_write_text
from visiona.weights.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.weights.record import Weights


class NonFiniteLossError(VisionaError):
    """The loss became NaN or infinite; training stops without saving that state."""


class EpochSeededSampler(Sampler[int]):
    """A shuffling sampler whose order depends only on (seed, epoch); Lightning calls
    :meth:`set_epoch` before each epoch, so a resumed run sees the same order."""

    def __init__(self, size: int, seed: int, start_epoch: int = 0) -> None:
        self.size, self.seed, self.epoch = size, seed, start_epoch
        # Hand this to the DataLoader (generator=...): worker processes draw their seeds from it,
        # so augmentation in workers also depends only on (seed, epoch).
        self.worker_seeds = torch.Generator()
        # Lightning creates the first iterator (and starts workers) before its first set_epoch
        # call, so a resumed run must start at the epoch it resumes.
        self.set_epoch(start_epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.worker_seeds.manual_seed(
            int(np.random.default_rng([self.seed, epoch, 1]).integers(2**62))
        )

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        return iter(rng.permutation(self.size).tolist())

    def __len__(self) -> int:
        return self.size


class DamagedCheckpointError(VisionaError):
    """``checkpoints/last.ckpt`` of a run cannot be resumed (empty, truncated, not ours)."""


def _load_state(ckpt: Path) -> Any:
    """``torch.load(weights_only=True)``, memory-mapped when the file format allows it."""
    try:
        return torch.load(ckpt, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" not in str(exc):
            raise
        return torch.load(ckpt, map_location="cpu", weights_only=True)


def check_resumable(ckpt: Path, task: str) -> None:
    """Refuses a ``last.ckpt`` that is not a complete Lightning checkpoint written by visiona.

    Only ever read with ``torch.load(weights_only=True)``: tensors and plain containers, never
    arbitrary pickled objects. Memory-mapped where possible, so big models are not read twice.

    Raises:
        DamagedCheckpointError: One line naming the file, and how to go on (exit code 1).
    """
    run_dir = ckpt.parent.parent
    weights = run_dir / "last.safetensors"
    hints = []
    if weights.is_file():
        hints.append(
            f"start a new run from its last weights: visiona train {task} --model {weights} "
            "(same --data; the optimizer state is lost)"
        )
    hints.append(f"or start fresh without --resume (and delete {run_dir} if it is of no use)")
    try:
        size = ckpt.stat().st_size
    except OSError as exc:
        raise DamagedCheckpointError(f"{ckpt}: cannot read it ({exc.strerror})", hints) from None
    reason = None
    if size == 0:
        reason = "the file is empty (0 bytes)"
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's notes on foreign pickle protocols
                state = _load_state(ckpt)
        except Exception as exc:  # any damage: truncated zip, foreign pickle, not a checkpoint
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            reason = f"truncated, damaged or not a visiona training checkpoint ({first[:160]})"
        else:
            required = {"state_dict", "optimizer_states", "epoch", "callbacks"}
            if not isinstance(state, dict) or not required <= state.keys():
                reason = "not a visiona training checkpoint (no Lightning training state in it)"
    if reason is not None:
        raise DamagedCheckpointError(f"cannot resume from {ckpt}: {reason}", hints)


class NonFiniteLossGuard(pl.Callback):
    """Stops at the first NaN/inf training loss with a message saying what to try."""

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss.detach()).all():
            raise NonFiniteLossError(
                f"loss became {float(loss)} at epoch {trainer.current_epoch + 1}, batch {index + 1};"
                " no checkpoint was written for this state",
                hint="lower --lr, check the data, or use --precision 32-true",
            )


class DivergenceWatch(pl.Callback):
    """Warns when the training loss explodes while staying finite (an absurd learning rate).

    The reference is the loss of the very first training batch, before any update (about
    ln(classes) for a fresh classifier): an epoch whose mean training loss is ``factor`` times
    higher has diverged. One warning is given, at the first such epoch, through ``report``; the
    message stays in :attr:`messages` for the final summary.

    Args:
        report: Called with the warning text (e.g. a console's print); default
            :func:`warnings.warn` with a ``RuntimeWarning``.
        factor: How many times the starting loss counts as diverged (two orders of magnitude).
    """

    def __init__(self, report: Any = None, factor: float = 100.0) -> None:
        self.report = report
        self.factor = factor
        self.reference: float | None = None
        self.messages: list[str] = []

    def state_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "messages": list(self.messages)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reference = state.get("reference")
        self.messages = list(state.get("messages", []))

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        if self.reference is not None:
            return
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None:
            value = float(loss.detach())
            if math.isfinite(value) and value > 0:
                self.reference = value

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get("train/loss")
        if value is None or self.reference is None or self.messages:
            return
        loss = float(value)
        if math.isfinite(loss) and loss > self.factor * self.reference:
            message = (
                f"the training loss diverged: {loss:.3g} at epoch {trainer.current_epoch + 1}, "
                f"{loss / self.reference:.2g}x its starting value {self.reference:.3g}; the "
                "saved checkpoints are probably useless (lower --lr, e.g. by 10x, and train again)"
            )
            self.messages.append(message)
            if self.report is not None:
                self.report(message)
            else:
                warnings.warn(message, RuntimeWarning, stacklevel=2)


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


@contextlib.contextmanager
def _ctrl_c_after() -> Iterator[None]:
    """Hold Ctrl-C until the block ends: an epoch's files (JSON, weights, ``last.ckpt``) are
    written all or none, so "epochs 1-N are saved" always means resumable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        if received:
            raise KeyboardInterrupt


class RunArtifacts(Checkpoint):
    """At the end of each epoch: ``last.safetensors`` (+ JSON), ``best.safetensors`` when the
    monitored metric improves, and Lightning's full state in ``checkpoints/last.ckpt`` for
    ``--resume``.

    As a Lightning ``Checkpoint`` it runs after every other callback (early stopping included), at
    the end of the training epoch when both the epoch's train and val metrics are known, so the
    saved state is complete and a resumed run replays nothing.

    Every file is written beside its destination and renamed into place, so an interrupted run
    always leaves complete, resumable files.
    """

    def __init__(
        self,
        run_dir: Path,
        architecture: str,
        record: Weights,
        arch_options: dict[str, Any],
        config: dict[str, Any],
        monitor: str = "val/acc",
    ) -> None:
        self.run_dir = run_dir
        self.architecture = architecture
        self.record = record
        self.arch_options = arch_options
        self.config = config
        self.monitor = monitor
        self.best_score: float | None = None
        self.best_epoch: int | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score = state.get("best_score")
        self.best_epoch = state.get("best_epoch")

    def _improved(self, score: float) -> bool:
        if self.best_score is None:
            return True
        if self.monitor.endswith("loss"):
            return score < self.best_score
        return score > self.best_score

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        if not all(math.isfinite(v) for v in metrics.values()) or not all(
            torch.isfinite(p).all() for p in module.parameters()
        ):
            raise NonFiniteLossError(
                f"metrics or weights are not finite after epoch {trainer.current_epoch + 1}; "
                "no checkpoint was written for this state",
                hint="lower --lr or check the data",
            )
        with _ctrl_c_after():
            self._save(trainer, module, metrics)

    def _save(
        self, trainer: pl.Trainer, module: pl.LightningModule, metrics: dict[str, float]
    ) -> None:
        epoch = trainer.current_epoch + 1
        record = replace(self.record, metrics={**metrics, "epoch": epoch})
        network = module.network
        extra = {"epoch": epoch, "config": self.config}
        outputs = 1 if self.config.get("loss") == "bce" else None
        save_checkpoint(self.run_dir / "last", network, self.architecture, record, extra,
                        self.arch_options, outputs)  # fmt: skip
        summary = {
            "epoch": epoch,
            "metrics": metrics,
            "architecture": self.architecture,
            "architecture_options": self.arch_options,
            "weights": record.to_dict(),
            "config": self.config,
        }
        score = metrics.get(self.monitor)
        improved = score is not None and self._improved(score)
        if improved:
            self.best_score, self.best_epoch = score, epoch
            save_checkpoint(self.run_dir / "best", network, self.architecture, record, extra,
                            self.arch_options, outputs)  # fmt: skip
        state_dir = self.run_dir / "checkpoints"
        state_dir.mkdir(exist_ok=True)
        with atomic_path(state_dir / "last.ckpt") as partial:
            trainer.save_checkpoint(partial, weights_only=False)
        # The JSON files come last: once last.json names an epoch, everything needed to resume
        # from it is on disk (a Ctrl-C right after it appears must leave a resumable run).
        if improved:
            _atomic_json(self.run_dir / "best.json", summary)
        _atomic_json(self.run_dir / "last.json", summary)


class EpochProgressBar(RichProgressBar):
    """Lightning's Rich bar counting epochs from 1 (``Epoch 3/15``) and without ``v_num``."""

    def _get_train_description(self, current_epoch: int) -> str:
        text = f"Epoch {current_epoch + 1}"
        if self.trainer.max_epochs is not None and self.trainer.max_epochs > 0:
            text += f"/{self.trainer.max_epochs}"
        return f"{text:{len(self.validation_description)}}"

    def get_metrics(self, trainer: pl.Trainer, module: pl.LightningModule) -> dict[str, Any]:
        items = super().get_metrics(trainer, module)
        items.pop("v_num", None)
        return items


def epoch_summary(metrics: dict[str, float]) -> str:
    """``train/loss 0.1234  val/acc 0.9500 ...``: the training loss and every validation value."""
    shown = [k for k in sorted(metrics) if k == "train/loss" or k.startswith("val/")]
    return "  ".join(f"{name} {metrics[name]:.4f}" for name in shown)


class EpochLines(pl.Callback):
    """One plain line per finished epoch (``epoch 3/15 (2.1 s): train/loss ...``), for output
    that is not a terminal (logs, CI, ``make demo``) where a live bar would be garbage."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        seconds = time.perf_counter() - self._started
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        self.console.print(
            f"epoch {trainer.current_epoch + 1}{total} ({seconds:.1f} s): {epoch_summary(metrics)}",
            markup=False,
            highlight=False,
        )


class _OneBasedEpochs:
    """Logger mixin: Lightning logs ``epoch`` counted from 0; people count from 1."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": metrics["epoch"] + 1}
        super().log_metrics(metrics, step)  # type: ignore[misc]


class RunCSVLogger(_OneBasedEpochs, CSVLogger):
    """CSVLogger with 1-based epochs."""


class RunTensorBoardLogger(_OneBasedEpochs, TensorBoardLogger):
    """TensorBoardLogger with 1-based epochs."""
