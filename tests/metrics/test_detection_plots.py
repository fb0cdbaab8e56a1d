"""PR-curve and detection-confusion PNGs from real DetectionReports."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.metrics.detection import DetectionReport, GroundTruth, evaluate_detections
from visiona.results.detections import Detections
from visiona.viz.detection_plots import plot_detection_confusion, plot_pr_curves


def report_for(num_classes: int, *, seed: int = 0, images: int = 8) -> DetectionReport:
    """A report where most objects are found, some with the wrong class, plus false positives."""
    rng = np.random.default_rng(seed)
    names = [f"class number {i}" for i in range(num_classes)]
    preds, targets = [], []
    for _ in range(images):
        count = int(rng.integers(1, 8))
        xy = rng.uniform(0, 300, (count, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(10, 120, (count, 2))], axis=1)
        ids = rng.integers(0, num_classes, count)
        noisy = boxes + rng.normal(0, 4, boxes.shape)
        noisy[:, 2:] = np.maximum(noisy[:, 2:], noisy[:, :2] + 1)
        pred_ids = np.where(rng.random(count) < 0.8, ids, rng.integers(0, num_classes, count))
        targets.append(GroundTruth(boxes, ids))
        preds.append(Detections(noisy, rng.uniform(0.1, 1, count), pred_ids, names))
    return evaluate_detections(preds, targets, names)


def png_size(path: Path) -> tuple[int, int]:
    assert path.is_file() and path.stat().st_size > 1000
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def test_pr_curves(tmp_path) -> None:
    report = report_for(4)
    assert report.map50 > 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_pr_curves(report, tmp_path / "plots" / "pr.png")
    assert path == tmp_path / "plots" / "pr.png"
    width, height = png_size(path)
    assert width > height  # room for the legend beside the axes
    many = plot_pr_curves(report_for(60, images=40), tmp_path / "pr60.png")
    assert png_size(many)


def test_detection_confusion(tmp_path) -> None:
    report = report_for(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = plot_detection_confusion(report, tmp_path / "cm.png")
        rows = plot_detection_confusion(report, tmp_path / "cm_norm.png", normalize=True)
    assert png_size(counts) == png_size(rows)
    big = plot_detection_confusion(report_for(120, images=30), tmp_path / "cm120.png")
    assert png_size(big)[0] > 2000
    bad = dataclasses.replace(report, confusion=np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="does not fit 4 classes"):
        plot_detection_confusion(bad, tmp_path / "bad.png")


def test_plots_without_data_say_so(tmp_path, monkeypatch) -> None:
    from visiona.viz import detection_plots

    drawn: dict[str, tuple[list[str], int]] = {}
    real_save = detection_plots._save

    def save(figure, path):  # read the figure's own text and curves as it is saved
        texts = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
        curves = sum(len(axes.lines) + len(axes.images) for axes in figure.axes)
        drawn[Path(path).name] = (texts, curves)
        return real_save(figure, path)

    monkeypatch.setattr(detection_plots, "_save", save)
    names = ["a", "b"]
    empty = evaluate_detections(
        [Detections(np.zeros((0, 4)), [], [], names)], [GroundTruth(np.zeros((0, 4)), [])], names
    )
    assert png_size(plot_pr_curves(empty, tmp_path / "pr.png"))
    assert png_size(plot_detection_confusion(empty, tmp_path / "cm.png"))
    pr_texts, pr_curves = drawn["pr.png"]
    assert "no ground-truth objects" in pr_texts and pr_curves == 0
    cm_texts, cm_curves = drawn["cm.png"]
    assert "no objects and no predictions" in cm_texts and cm_curves == 0
    # The message is in the pixels too: grey text in the middle of an otherwise white plot.
    with Image.open(tmp_path / "pr.png") as image:
        gray = np.asarray(image.convert("L"))
    height, width = gray.shape
    middle = gray[height // 3 : 2 * height // 3, width // 4 : 3 * width // 4]
    assert 0.001 < (middle < 200).mean() < 0.2
