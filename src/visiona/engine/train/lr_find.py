"""The learning-rate range test (Lightning's LR finder) with a saved plot.

Lightning's :class:`~lightning.pytorch.tuner.Tuner` runs the sweep: the learning rate grows
exponentially from ``min_lr`` to ``max_lr`` over ``num_steps`` batches and the sweep stops early
when the loss diverges (4× its best). Two things of Lightning's are not used as they are:

- its smoothed loss is debiased one step off (the first point is about half the true loss, so the
  curve seems to rise at the start), so the raw loss of every step is recorded here and smoothed
  with a correctly debiased moving average;
- its suggestion (steepest gradient of loss with respect to the *linear* learning rate) is
  dominated by noise at tiny rates. The suggestion here is fastai's rule: the rate of the lowest
  smoothed loss divided by 10, which lands inside the fast-descending part of the curve.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import VisionaError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.train.config import TrainConfig

MIN_LR = 1e-6
MAX_LR = 1.0
NUM_STEPS = 100
DIVERGENCE = 4.0
"""The sweep stops once the smoothed loss exceeds this multiple of its best value."""
SMOOTHING = 0.9
"""Weight of the past in the exponential moving average of the loss (about 10 steps)."""


@dataclass(frozen=True)
class LrFindResult:
    """A finished sweep: the suggestion, the curve and where its plot is."""

    suggestion: float
    plot: Path
    run_dir: Path
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    """Smoothed loss at each rate of ``lrs``."""
    min_loss_lr: float = math.nan
    """Rate of the lowest smoothed loss (the suggestion is a tenth of it)."""
    stopped_early: bool = False
    """The loss diverged before ``max_lr`` was reached."""


def smooth_losses(losses: Sequence[float], beta: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average ``(K,)`` of ``losses`` ``(K,)``, debiased so the first value
    equals the first loss; non-finite losses stay non-finite and do not enter the average."""
    out = np.full(len(losses), np.nan)
    average, weight = 0.0, 0.0
    for index, loss in enumerate(losses):
        if not math.isfinite(loss):
            continue
        average = beta * average + (1 - beta) * loss
        weight = beta * weight + (1 - beta)
        out[index] = average / weight
    return out


def suggest_learning_rate(lrs: Sequence[float], smoothed: Sequence[float]) -> tuple[float, float]:
    """``(suggestion, rate of the lowest loss)``: the suggestion is the rate of the lowest
    smoothed loss divided by 10, never below the first rate tried.

    Raises:
        VisionaError: No finite loss to choose from.
    """
    rates = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(smoothed, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.sum() < 2:
        raise VisionaError(
            "the LR finder could not suggest a learning rate (fewer than 2 finite losses)",
            hint="check the data, or try a smaller --batch-size so there are more batches",
        )
    lowest = int(np.nanargmin(np.where(finite, values, np.nan)))
    best = float(rates[lowest])
    return max(best / 10, float(rates[0])), best


@contextlib.contextmanager
def _quiet_finder() -> Iterator[None]:
    """Lightning's finder always draws a tqdm bar (garbage in a log file) and warns that the
    validation loop is skipped (on purpose); silence both for the sweep only."""
    import functools
    import warnings

    from lightning.pytorch.tuner import lr_finder

    bar = lr_finder.tqdm
    lr_finder.tqdm = functools.partial(bar, disable=True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*no `val_dataloader`.*")
            yield
    finally:
        lr_finder.tqdm = bar


def _record_losses(module: Any, into: list[float]) -> None:
    """Make ``module.training_step`` also append each step's raw loss to ``into``."""
    step = module.training_step

    def recording(*args: Any, **kwargs: Any) -> Any:
        output = step(*args, **kwargs)
        loss = output["loss"] if isinstance(output, dict) else output
        into.append(float(loss.detach()) if loss is not None else math.nan)
        return output

    module.training_step = recording


def find_learning_rate(
    config: TrainConfig,
    *,
    console: Console | None = None,
    num_steps: int = NUM_STEPS,
    min_lr: float = MIN_LR,
    max_lr: float = MAX_LR,
) -> LrFindResult:
    """Sweep the learning rate from ``min_lr`` to ``max_lr`` over ``num_steps`` batches (fewer
    when the loss diverges) and suggest one; the run folder (``<name>-lr-find``) gets
    ``lr_find.png`` (loss against rate over the whole sweep).

    The model, data and optimizer are those ``config`` would train; one learning rate is applied
    to every parameter group during the sweep.
    """
    from lightning.pytorch.tuner import Tuner

    from visiona.engine.train.fit import make_trainer, prepare_run, quiet_lightning
    from visiona.viz.plots import plot_lr_finder

    if not 0 < min_lr < max_lr:
        raise VisionaError(f"the LR sweep needs 0 < min_lr < max_lr, got {min_lr} and {max_lr}")
    config.name = f"{config.name or 'train'}-lr-find"
    raw: list[float] = []
    with quiet_lightning(), _quiet_finder():
        if config.task == "classify":
            run = prepare_run(config, console=console)
        else:
            from visiona.engine.train.detect_run import prepare_detection_run

            run = prepare_detection_run(config, console=console)
        _record_losses(run.module, raw)
        # Small datasets need several epochs to reach num_steps batches.
        trainer = make_trainer(config, run.run_dir, [], console, progress=False, max_epochs=10_000)
        # No validation: the sweep only needs training losses (and is twice as fast without).
        finder = Tuner(trainer).lr_find(
            run.module,
            train_dataloaders=run.train_loader,
            min_lr=min_lr,
            max_lr=max_lr,
            num_training=num_steps,
            early_stop_threshold=DIVERGENCE,
            update_attr=False,
        )
    if finder is None:
        raise VisionaError("the LR finder did not run")
    lrs = [float(lr) for lr in finder.results["lr"]]
    raw = raw[: len(lrs)]
    lrs = lrs[: len(raw)]
    smoothed = smooth_losses(raw)
    suggestion, best = suggest_learning_rate(lrs, smoothed)
    plot = plot_lr_finder(lrs, smoothed, suggestion, run.run_dir / "lr_find.png", raw_losses=raw)
    return LrFindResult(
        suggestion=suggestion,
        plot=plot,
        run_dir=run.run_dir,
        lrs=lrs,
        losses=[float(v) for v in smoothed],
        min_loss_lr=best,
        stopped_early=len(lrs) < num_steps,
    )
