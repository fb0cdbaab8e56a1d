"""PNG plots: confusion matrices (3 and 100 classes), image grids, training curves, LR finder."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.errors import InputNotFoundError
from visiona.viz.plots import (
    plot_confusion_matrix,
    plot_image_grid,
    plot_lr_finder,
    plot_training_curves,
    read_training_metrics,
)

# Written by Lightning 2.6 (CSVLogger + LearningRateMonitor, per-epoch train metrics, 3 epochs).
LIGHTNING_CSV = """\
epoch,lr-AdamW,step,train/acc,train/loss,val/acc,val/loss
,0.01,0,,,,
0,,3,,,0.75,0.661633312702179
0,,3,0.6000000238418579,0.6783345937728882,,
,0.005,4,,,,
1,,7,,,0.800000011920929,0.6521230936050415
1,,7,0.75,0.6575804948806763,,
,0.0025,8,,,,
2,,11,,,0.800000011920929,0.6476022601127625
2,,11,0.800000011920929,0.6500228643417358,,
"""


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def test_confusion_matrix_small(tmp_path) -> None:
    matrix = np.array([[4, 0, 0], [1, 4, 0], [0, 0, 0]])  # last row empty: no division warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_confusion_matrix(matrix, ["red", "green", "blue"], tmp_path / "a" / "cm.png")
    assert path == tmp_path / "a" / "cm.png"
    width, height = png_size(path)
    assert 500 <= width <= 1000 and 400 <= height <= 1000
    counts = plot_confusion_matrix(
        matrix, ["r", "g", "b"], tmp_path / "counts.png", normalize=False
    )
    assert png_size(counts)[0] > 500


def test_confusion_matrix_with_100_long_class_names(tmp_path) -> None:
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 3, (100, 100)) + np.diag(rng.integers(10, 40, 100))
    names = [f"a rather long class name number {i}" for i in range(100)]
    width, height = png_size(plot_confusion_matrix(matrix, names, tmp_path / "cm100.png"))
    assert width > 2000 and height > 2000  # room for 100 legible labels


def test_confusion_matrix_rejects_bad_shapes(tmp_path) -> None:
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="class names"):
        plot_confusion_matrix(np.zeros((2, 2)), ["a"], tmp_path / "x.png")


def test_image_grid(tmp_path) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (20 + 10 * i, 30, 3), dtype=np.uint8) for i in range(5)]
    captions = [f"cat → dog ({0.9 - i / 10:.2f})" for i in range(5)]
    width, height = png_size(plot_image_grid(images, captions, tmp_path / "grid.png", columns=4))
    assert width > height  # 4 columns × 2 rows
    one = plot_image_grid(images[:1], ["x" * 200], tmp_path / "one.png")  # long caption wraps
    assert png_size(one)[0] < width
    assert png_size(plot_image_grid([], [], tmp_path / "empty.png"))
    with pytest.raises(ValueError, match="captions"):
        plot_image_grid(images, captions[:2], tmp_path / "bad.png")


def test_read_lightning_metrics(tmp_path) -> None:
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(LIGHTNING_CSV)
    metrics = read_training_metrics(csv_path)
    assert metrics.x_label == "epoch"
    epochs, val_loss = metrics.get("val/loss")
    assert epochs.tolist() == [0, 1, 2]
    assert val_loss == pytest.approx([0.6616333, 0.6521231, 0.6476023])
    assert metrics.get("train/acc")[1] == pytest.approx([0.6, 0.75, 0.8])
    # lr rows have no epoch: each takes the epoch of the next row with a known step.
    assert {k: (x.tolist(), y.tolist()) for k, (x, y) in metrics.learning_rates.items()} == {
        "lr-AdamW": ([0, 1, 2], [0.01, 0.005, 0.0025])
    }
    assert metrics.get("val/top5") is None


def test_read_step_and_epoch_suffixes_and_step_only_files(tmp_path) -> None:
    both = tmp_path / "both.csv"
    both.write_text(
        "epoch,step,train/loss_step,train/loss_epoch\n"
        "0,0,2.0,\n0,1,1.0,\n0,1,,1.4\n1,2,0.8,\n1,3,0.6,\n1,3,,0.7\n"
    )
    metrics = read_training_metrics(both)
    assert metrics.get("train/loss")[1] == pytest.approx([1.4, 0.7])  # _epoch preferred
    assert metrics.series["train/loss_step"][1] == pytest.approx([1.5, 0.7])  # mean per epoch
    steps = tmp_path / "steps.csv"
    steps.write_text("step,train/loss\n0,2.0\n5,1.0\n")
    metrics = read_training_metrics(steps)
    assert metrics.x_label == "step" and metrics.get("train/loss")[0].tolist() == [0, 5]


def test_training_curves(tmp_path) -> None:
    full = tmp_path / "full.csv"
    full.write_text(LIGHTNING_CSV)
    three = png_size(plot_training_curves(full, tmp_path / "full.png"))

    single = tmp_path / "single.csv"  # one epoch, no val, no lr
    single.write_text("epoch,step,train/loss,train/acc\n0,9,1.2,0.4\n")
    two = png_size(plot_training_curves(single, tmp_path / "single.png"))
    assert three[0] > two[0] and three[1] == two[1]  # third panel for the learning rate

    empty = tmp_path / "empty.csv"
    empty.write_text("epoch,step\n")
    assert png_size(plot_training_curves(empty, tmp_path / "empty.png"))
    with pytest.raises(InputNotFoundError):
        plot_training_curves(tmp_path / "missing.csv", tmp_path / "x.png")


def test_lr_finder(tmp_path) -> None:
    lrs = np.logspace(-6, 0, 50)
    losses = 2 - np.tanh(np.log10(lrs) + 3) + np.where(lrs > 0.1, 100 * lrs**2, 0)
    losses[-1] = np.nan  # diverged: left out
    assert png_size(plot_lr_finder(lrs, losses, 3e-3, tmp_path / "lr.png")) == (600, 420)
    assert png_size(plot_lr_finder(lrs.tolist(), losses.tolist(), None, tmp_path / "n.png"))
    assert png_size(plot_lr_finder([], [], None, tmp_path / "none.png"))
    with pytest.raises(ValueError, match="losses"):
        plot_lr_finder([1e-3, 1e-2], [1.0], None, tmp_path / "bad.png")


def test_curve_panels_expand_patterns_to_logged_loss_terms(tmp_path) -> None:
    from visiona.viz.plots import _expand

    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(
        "epoch,step,train/loss,train/loss_classifier,train/loss_box_reg,val/map50\n"
        "1,3,1.0,0.6,0.4,0.1\n"
    )
    metrics = read_training_metrics(csv_path)
    names = _expand(("train/loss", "train/loss_*", "train/*"), metrics)
    assert names == ["train/loss", "train/loss_box_reg", "train/loss_classifier"]
    assert png_size(
        plot_training_curves(
            csv_path, tmp_path / "c.png", panels=[("loss", ("train/loss", "train/loss_*"))]
        )
    )
