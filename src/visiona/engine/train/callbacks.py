"""Training callbacks: run artefacts (best/last checkpoints), a NaN guard, a seeded sampler."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint
from torch.utils.data import Sampler

from visiona.errors import VisionaError
from visiona.weights.checkpoint import save_checkpoint

if TYPE_CHECKING:
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


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(partial, path)


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
        partial = state_dir / "last.ckpt.part"
        trainer.save_checkpoint(partial, weights_only=False)
        os.replace(partial, state_dir / "last.ckpt")
        # The JSON files come last: once last.json names an epoch, everything needed to resume
        # from it is on disk (a Ctrl-C right after it appears must leave a resumable run).
        if improved:
            _atomic_json(self.run_dir / "best.json", summary)
        _atomic_json(self.run_dir / "last.json", summary)
