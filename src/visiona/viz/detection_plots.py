"""PNG plots of a :class:`~visiona.metrics.detection.DetectionReport`: PR curves, confusion matrix.

Same conventions as :mod:`visiona.viz.plots`: each function draws on its own Agg figure, saves a
PNG to ``path`` (creating its folder) and returns ``path``; a report without data gives a plot
that says so instead of an error.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visiona.viz.plots import MAX_ANNOTATED_CLASSES, MAX_LABELLED_TICKS, _figure, _no_data, _save
from visiona.viz.plots import _short as short

if TYPE_CHECKING:
    from visiona.metrics.detection import DetectionReport

MAX_LEGEND_CLASSES = 20
"""Above this many classes the per-class curves are drawn thin and grey, without legend entries."""
BACKGROUND = "background"


def plot_pr_curves(report: DetectionReport, path: str | Path) -> Path:
    """Precision against recall at IoU 0.5 per class, and their mean (COCO's AP50 curves).

    Curves are COCO's interpolated precision at 101 recall points (all object sizes, up to 100
    detections per image). Classes without ground-truth objects are left out; the legend gives
    each class's AP50 (up to 20 classes) and the mean's, which is the report's mAP@.5.

    Args:
        report: A computed detection report.
        path: Output PNG file.

    Returns:
        ``path``.
    """
    from visiona.metrics.detection import RECALL_POINTS

    curves = report.precision[0, :, :, 0, -1]  # (R, K) at IoU 0.5, area all, 100 detections
    valid = [k for k in range(curves.shape[1]) if np.all(curves[:, k] > -1)]
    figure = _figure(7.5 if len(valid) <= MAX_LEGEND_CLASSES else 6.0, 5.0)
    axes = figure.add_subplot()
    if not valid:
        _no_data(axes, "no ground-truth objects")
        axes.set_title(f"precision-recall at IoU 0.5 ({report.iou_type})")
        return _save(figure, path)
    few = len(valid) <= MAX_LEGEND_CLASSES
    for k in valid:
        ap50 = float(curves[:, k].mean())
        if few:
            label = f"{short(report.class_names[k], 20)} {ap50:.3f}"
            axes.plot(RECALL_POINTS, curves[:, k], linewidth=1.2, label=label)
        else:
            axes.plot(RECALL_POINTS, curves[:, k], linewidth=0.6, color="0.7")
    mean = curves[:, valid].mean(axis=1)
    axes.plot(RECALL_POINTS, mean, color="tab:blue" if not few else "black", linewidth=2.5,
              label=f"all classes {float(mean.mean()):.3f} mAP@.5")  # fmt: skip
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    detail = "AP50 in legend" if few else f"{len(valid)} classes in grey"
    axes.set_title(f"precision-recall at IoU 0.5 ({report.iou_type}, {detail})")
    axes.grid(alpha=0.3)
    if few:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        axes.legend(fontsize=8, loc="lower left")
    return _save(figure, path)


def plot_detection_confusion(
    report: DetectionReport, path: str | Path, *, normalize: bool = False
) -> Path:
    """Draw the detection confusion matrix with its "background" row and column.

    Rows are true classes, the last row "background" holds false positives (predictions matching
    no object); columns are predicted classes, the last column "background" holds missed
    objects. Styled like :func:`visiona.viz.plots.plot_confusion_matrix`: cells are written up to
    20 classes, labels thin out above 100.

    Args:
        report: A computed detection report.
        path: Output PNG file.
        normalize: Show each row as fractions of its total (a class's objects, or all false
            positives) instead of counts.

    Returns:
        ``path``.
    """
    counts = np.asarray(report.confusion)
    names = [*report.class_names, BACKGROUND]
    n = counts.shape[0]
    if counts.shape != (len(names), len(names)):
        raise ValueError(
            f"confusion matrix {counts.shape} does not fit {len(names) - 1} classes + background"
        )
    side = float(np.clip(3.0 + 0.28 * n, 6.0, 30.0))
    figure = _figure(side + 1.2, side)
    axes = figure.add_subplot()
    title = f"detection confusion matrix ({report.iou_type})"
    if counts.sum() == 0:
        _no_data(axes, "no objects and no predictions")
        axes.set_title(title)
        return _save(figure, path)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
        values = np.divide(counts, totals, out=np.zeros(counts.shape, np.float64), where=totals > 0)
        vmax = 1.0
    else:
        values = counts.astype(np.float64)
        vmax = max(float(values.max()), 1.0)
    image = axes.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    colorbar = figure.colorbar(
        image, ax=axes, fraction=min(0.046, 0.3 / side), aspect=20 * side / 6, pad=0.02
    )
    colorbar.set_label("fraction of row" if normalize else "objects / predictions")

    cell_points = side * 0.75 * 72 / n
    step = max(1, math.ceil(n / MAX_LABELLED_TICKS))
    ticks = sorted({*range(0, n, step), n - 1})  # "background" always labelled
    labels = [short(names[i]) for i in ticks]
    font = float(np.clip(cell_points * step * 0.75, 4.0, 10.0))
    if n <= MAX_ANNOTATED_CLASSES + 1:
        axes.set_xticks(ticks, labels, fontsize=font, rotation=45, ha="right",
                        rotation_mode="anchor")  # fmt: skip
    else:
        axes.set_xticks(ticks, labels, fontsize=font, rotation=90)
    axes.set_yticks(ticks, labels, fontsize=font)
    axes.axhline(n - 1.5, color="0.4", linewidth=0.8)  # set "background" apart
    axes.axvline(n - 1.5, color="0.4", linewidth=0.8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title + (" (rows normalised)" if normalize else ""))
    if n <= MAX_ANNOTATED_CLASSES + 1:
        text_size = float(np.clip(cell_points * 0.28, 5.0, 11.0))
        for i in range(n):
            for j in range(n):
                if i == n - 1 and j == n - 1:
                    continue  # background vs background means nothing
                value = values[i, j]
                text = f"{value:.2f}" if normalize else f"{int(counts[i, j])}"
                colour = "white" if value > 0.5 * vmax else "black"
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=text_size)
    return _save(figure, path)
