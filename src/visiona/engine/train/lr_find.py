"""The learning-rate range test (Lightning's LR finder) with a saved plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.errors import VisionaError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.train.config import TrainConfig


@dataclass(frozen=True)
class LrFindResult:
    suggestion: float
    plot: Path
    run_dir: Path


def find_learning_rate(
    config: TrainConfig, *, console: Console | None = None, num_steps: int = 100
) -> LrFindResult:
    """Increase the LR exponentially over ``num_steps`` batches and suggest one before the loss
    diverges; the run folder (``<name>-lr-find``) gets ``lr_find.png``."""
    from lightning.pytorch.tuner import Tuner

    from visiona.engine.train.fit import make_trainer, prepare_run, quiet_lightning
    from visiona.viz.plots import plot_lr_finder

    config.name = f"{config.name or 'train'}-lr-find"
    with quiet_lightning():
        run = prepare_run(config, console=console)
        # Small datasets need several epochs to reach num_steps batches.
        trainer = make_trainer(config, run.run_dir, [], console, progress=False, max_epochs=10_000)
        # Run every step (no early stop on divergence) so short datasets still give a curve.
        finder = Tuner(trainer).lr_find(
            run.module,
            train_dataloaders=run.train_loader,
            val_dataloaders=run.val_loader,
            num_training=num_steps,
            early_stop_threshold=None,
            update_attr=False,
        )
    if finder is None or finder.suggestion() is None:
        raise VisionaError("the LR finder could not suggest a learning rate (too few batches?)")
    suggestion = float(finder.suggestion())
    plot = plot_lr_finder(
        finder.results["lr"], finder.results["loss"], suggestion, run.run_dir / "lr_find.png"
    )
    return LrFindResult(suggestion=suggestion, plot=plot, run_dir=run.run_dir)
