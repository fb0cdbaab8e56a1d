"""The LR finder gives advice that trains: on the digits CNN it suggests a usable rate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visiona.engine.train.config import TrainConfig
from visiona.engine.train.lr_find import find_learning_rate, smooth_losses, suggest_learning_rate
from visiona.errors import VisionaError


def test_smoothing_is_debiased_and_skips_non_finite_losses() -> None:
    smoothed = smooth_losses([2.0, 2.0, float("nan"), 2.0], beta=0.9)
    assert smoothed[0] == pytest.approx(2.0) and smoothed[1] == pytest.approx(2.0)
    assert np.isnan(smoothed[2]) and smoothed[3] == pytest.approx(2.0)


def test_suggestion_is_a_tenth_of_the_rate_of_the_lowest_loss() -> None:
    lrs = np.logspace(-6, 0, 61)
    losses = 2.3 - np.exp(-((np.log10(lrs) + 2) ** 2))  # lowest at 1e-2
    suggestion, lowest = suggest_learning_rate(lrs, losses)
    assert lowest == pytest.approx(1e-2) and suggestion == pytest.approx(1e-3)
    with pytest.raises(VisionaError, match="could not suggest"):
        suggest_learning_rate([1e-3, 1e-2], [float("nan"), float("nan")])


@pytest.mark.slow
def test_digits_cnn_suggestion_is_within_10x_of_a_rate_that_trains(tmp_path) -> None:
    from visiona.data.builders import make_dataset
    from visiona.engine.train import train

    make_dataset("digits", tmp_path / "digits", progress=False)
    values = {"task": "classify", "data": str(tmp_path / "digits" / "train"), "model": "cnn",
              "project": str(tmp_path / "runs"), "seed": 0}  # fmt: skip
    result = find_learning_rate(TrainConfig.from_dict(values))
    # The sweep covers the whole range (1e-6 .. 1) unless the loss diverged near its end.
    assert result.lrs[0] == pytest.approx(1e-6)
    assert result.lrs[-1] > 0.1 or result.stopped_early
    # 1e-3 trains the digits CNN well (make demo: 3e-3, > 95 %); the advice is within 10x.
    assert 1e-4 <= result.suggestion <= 1e-2, result.suggestion
    assert result.min_loss_lr == pytest.approx(10 * result.suggestion)
    assert Image.open(result.plot).size == (600, 420)
    # And it trains: two epochs at the suggested rate reach a useful accuracy.
    trained = train(
        TrainConfig.from_dict({**values, "lr": result.suggestion, "epochs": 2, "name": "at-lr"}),
        progress=False,
    )
    assert trained.best_metrics["val/acc"] > 0.8
