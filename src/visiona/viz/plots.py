"""PNG plots for evaluation and training: confusion matrix, image grid, training curves, LR finder.

Every function draws on its own ``matplotlib.figure.Figure`` with an Agg canvas, saves a PNG to
``path`` (creating its folder) and returns ``path``. pyplot and the global backend are never used.
"""

from __future__ import annotations

import csv
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visiona.errors import InputNotFoundError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
MAX_LABELLED_TICKS = 100
"""Above this many classes only every n-th class gets a tick label."""
MAX_ANNOTATED_CLASSES = 20
"""Confusion-matrix cells are written into the plot up to this many classes."""

CURVE_METRICS = ("train/loss", "val/loss", "train/acc", "val/acc")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI)
    return path


def _no_data(axes: Axes, message: str = "no data") -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="0.5")
    axes.set_xticks([])
    axes.set_yticks([])


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    normalize: bool = True,
    title: str = "Confusion matrix",
) -> Path:
    """Draw a confusion matrix as a heat map.

    Rows are true classes, columns predicted classes. Up to 20 classes every cell is annotated;
    beyond that only colours are shown and tick labels shrink, and above 100 classes only every
    n-th class is labelled so the labels stay legible.

    Args:
        matrix: Counts ``(C, C)``; ``matrix[i, j]`` = images of class ``i`` predicted as ``j``.
        class_names: ``C`` names, in matrix order.
        path: Output PNG file.
        normalize: Show each row as fractions of that class's images (recall on the diagonal);
            rows without images stay 0. ``False`` shows raw counts.
        title: Plot title.

    Returns:
        ``path``.

    Raises:
        ValueError: ``matrix`` is not square or does not match ``class_names``.
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion matrix must be square (C, C), got {counts.shape}")
    n = counts.shape[0]
    if len(class_names) != n:
        raise ValueError(f"{len(class_names)} class names for a {n}×{n} confusion matrix")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
        values = np.divide(counts, totals, out=np.zeros(counts.shape, np.float64), where=totals > 0)
        vmax = 1.0
    else:
        values = counts.astype(np.float64)
        vmax = max(float(values.max(initial=0.0)), 1.0)

    side = float(np.clip(3.0 + 0.28 * n, 6.0, 30.0))
    figure = _figure(side + 1.2, side)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    colorbar = figure.colorbar(
        image, ax=axes, fraction=min(0.046, 0.3 / side), aspect=20 * side / 6, pad=0.02
    )
    colorbar.set_label("fraction of true class" if normalize else "images")

    cell_points = side * 0.75 * 72 / max(n, 1)
    step = max(1, math.ceil(n / MAX_LABELLED_TICKS))
    ticks = np.arange(0, n, step)
    labels = [_short(str(class_names[i])) for i in ticks]
    font = float(np.clip(cell_points * step * 0.75, 4.0, 10.0))
    if n <= MAX_ANNOTATED_CLASSES:
        axes.set_xticks(ticks, labels, fontsize=font, rotation=45, ha="right",
                        rotation_mode="anchor")  # fmt: skip
    else:
        axes.set_xticks(ticks, labels, fontsize=font, rotation=90)
    axes.set_yticks(ticks, labels, fontsize=font)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title + (" (rows normalised)" if normalize else ""))

    if n <= MAX_ANNOTATED_CLASSES:
        text_size = float(np.clip(cell_points * 0.28, 5.0, 11.0))
        for i in range(n):
            for j in range(n):
                value = values[i, j]
                text = f"{value:.2f}" if normalize else f"{int(counts[i, j])}"
                colour = "white" if value > 0.5 * vmax else "black"
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=text_size)
    return _save(figure, path)


def plot_image_grid(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    path: str | Path,
    columns: int = 4,
) -> Path:
    """Show images in a grid, each with a caption above it.

    Args:
        images: RGB arrays ``(H, W, 3)`` uint8 (sizes may differ; grayscale ``(H, W)`` works too).
        captions: One caption per image (long captions are wrapped).
        path: Output PNG file.
        columns: Images per row (fewer when there are fewer images).

    Returns:
        ``path``.

    Raises:
        ValueError: ``captions`` does not match ``images`` or ``columns < 1``.
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    count = len(images)
    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    figure = _figure(cols * 2.6, rows * 2.9)
    if count == 0:
        _no_data(figure.add_subplot(), "no images")
        return _save(figure, path)
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        axes = figure.add_subplot(rows, cols, index + 1)
        array = np.asarray(image)
        axes.imshow(array, cmap="gray" if array.ndim == 2 else None, interpolation="antialiased")
        axes.set_title(textwrap.fill(str(caption), width=30), fontsize=8)
        axes.axis("off")
    return _save(figure, path)


@dataclass(frozen=True)
class TrainingMetrics:
    """Per-epoch series read from a Lightning ``metrics.csv``.

    Attributes:
        x_label: ``"epoch"``, or ``"step"`` when the file logs no epochs at all.
        series: Column name → ``(x (K,), values (K,))``, one point per epoch (the mean of the
            rows logged in it), sorted by ``x``.
    """

    x_label: str = "epoch"
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The series for ``name``, preferring ``name_epoch`` then ``name`` then ``name_step``
        (Lightning appends those suffixes when a value is logged both per step and per epoch)."""
        for key in (f"{name}_epoch", name, f"{name}_step"):
            if key in self.series:
                return self.series[key]
        return None

    @property
    def learning_rates(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The ``lr-*`` series (LearningRateMonitor), by column name."""
        return {k: v for k, v in self.series.items() if k.startswith("lr-")}


def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_training_metrics(metrics_csv: str | Path) -> TrainingMetrics:
    """Read a Lightning CSVLogger ``metrics.csv`` into per-epoch series.

    Rows are sparse (each holds ``step``, usually ``epoch``, and some metrics). Rows without an
    epoch (e.g. ``lr-*`` from LearningRateMonitor) get the epoch of the first row logged at the
    same or a later step (epoch-level values are logged at the epoch's last step).

    Raises:
        InputNotFoundError: The file does not exist.
    """
    path = Path(metrics_csv)
    if not path.is_file():
        raise InputNotFoundError(f"metrics file not found: {str(path)!r}")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return TrainingMetrics()
    known = sorted(
        (step, epoch)
        for row in rows
        if (step := _number(row.get("step"))) is not None
        and (epoch := _number(row.get("epoch"))) is not None
    )
    use_steps = not any(_number(row.get("epoch")) is not None for row in rows)
    known_steps = np.array([s for s, _ in known])

    def x_of(row: dict[str, str]) -> float | None:
        step = _number(row.get("step"))
        if use_steps:
            return step
        epoch = _number(row.get("epoch"))
        if epoch is not None or step is None or not known:
            return epoch
        index = min(int(np.searchsorted(known_steps, step, side="left")), len(known) - 1)
        return known[index][1]

    points: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        x = x_of(row)
        if x is None:
            continue
        for column, text in row.items():
            if column in (None, "epoch", "step"):
                continue
            value = _number(text)
            if value is not None:
                points.setdefault(column, {}).setdefault(x, []).append(value)
    series = {
        name: (
            np.array(sorted(by_x), dtype=np.float64),
            np.array([float(np.mean(by_x[x])) for x in sorted(by_x)], dtype=np.float64),
        )
        for name, by_x in points.items()
    }
    return TrainingMetrics(x_label="step" if use_steps else "epoch", series=series)


def _expand(names: Sequence[str], metrics: TrainingMetrics) -> list[str]:
    """Panel metric names with ``*`` patterns (``train/loss_*``) replaced by the logged series
    they match (sorted), without duplicates."""
    import fnmatch

    logged = sorted({re.sub(r"_(epoch|step)$", "", key) for key in metrics.series})
    expanded: list[str] = []
    for name in names:
        matches = fnmatch.filter(logged, name) if "*" in name else [name]
        expanded += [match for match in matches if match not in expanded]
    return expanded


def plot_training_curves(
    metrics_csv: str | Path,
    path: str | Path,
    panels: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> Path:
    """Plot loss and accuracy (train and val) per epoch, plus the learning rate if logged.

    Panels: loss (``train/loss``, ``val/loss``), accuracy (``train/acc``, ``val/acc``) and, when
    the file has ``lr-*`` columns, the learning rate (log scale). Missing metrics are left out
    (a panel with none says "no data"); a single epoch shows as single markers.

    Args:
        metrics_csv: A Lightning CSVLogger ``metrics.csv``.
        path: Output PNG file.
        panels: ``(title, metric names)`` per panel, instead of loss and accuracy (e.g. a
            detector's loss and mAP); a name may be a pattern (``train/loss_*``).

    Returns:
        ``path``.

    Raises:
        InputNotFoundError: ``metrics_csv`` does not exist.
    """
    from matplotlib.ticker import MaxNLocator

    metrics = read_training_metrics(metrics_csv)
    rates = metrics.learning_rates
    if panels is None:
        panels = [("loss", ("train/loss", "val/loss")), ("accuracy", ("train/acc", "val/acc"))]
    count = len(panels) + (1 if rates else 0)
    figure = _figure(4.6 * count, 3.8)
    for index, (ylabel, names) in enumerate(panels):
        axes = figure.add_subplot(1, count, index + 1)
        drawn = False
        for name in _expand(names, metrics):
            found = metrics.get(name)
            if found is not None:
                axes.plot(*found, marker="o", markersize=3, label=name)
                drawn = True
        if not drawn:
            _no_data(axes)
        else:
            axes.legend(fontsize=8)
            axes.grid(alpha=0.3)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xlabel(metrics.x_label)
        axes.set_ylabel(ylabel)
        axes.set_title(ylabel)
    if rates:
        axes = figure.add_subplot(1, count, count)
        values = np.concatenate([y for _, y in rates.values()])
        for name, (x, y) in sorted(rates.items()):
            label = name.removeprefix("lr-").replace("/", " ")
            axes.plot(x, y, marker="o", markersize=3, label=f"lr ({label})")
        if values.min() > 0 and values.max() / values.min() > 20:
            axes.set_yscale("log")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(metrics.x_label)
        axes.set_ylabel("learning rate")
        axes.set_title("learning rate")
    return _save(figure, path)


def plot_lr_finder(
    lrs: Sequence[float],
    losses: Sequence[float],
    suggestion: float | None,
    path: str | Path,
    raw_losses: Sequence[float] | None = None,
) -> Path:
    """Plot an LR-range test: loss against learning rate on a log x-axis spanning every rate
    tried.

    When the loss diverges at the end, the y-axis is cut at 1.5× the range before the minimum.

    Args:
        lrs: Learning rates tried ``(K,)``.
        losses: (Smoothed) loss at each rate ``(K,)``; non-finite values are left out.
        suggestion: Suggested learning rate, marked with a dashed line, or ``None``.
        path: Output PNG file.
        raw_losses: Each step's unsmoothed loss ``(K,)``, drawn faintly behind the curve.

    Returns:
        ``path``.

    Raises:
        ValueError: ``lrs`` and ``losses`` differ in length.
    """
    rates = np.asarray(lrs, dtype=np.float64).reshape(-1)
    values = np.asarray(losses, dtype=np.float64).reshape(-1)
    if rates.shape != values.shape:
        raise ValueError(f"{rates.size} learning rates but {values.size} losses")
    all_rates = rates[np.isfinite(rates) & (rates > 0)]
    raw = None if raw_losses is None else np.asarray(raw_losses, dtype=np.float64).reshape(-1)
    keep = np.isfinite(rates) & np.isfinite(values) & (rates > 0)
    figure = _figure(6.0, 4.2)
    axes = figure.add_subplot()
    if not keep.any():
        _no_data(axes)
        return _save(figure, path)
    if raw is not None and raw.shape == rates.shape:
        shown = keep & np.isfinite(raw)
        axes.plot(rates[shown], raw[shown], color="tab:blue", alpha=0.25, linewidth=0.8,
                  label="loss per step")  # fmt: skip
    rates, values = rates[keep], values[keep]
    axes.plot(rates, values, color="tab:blue", label="smoothed loss")
    axes.set_xscale("log")
    axes.set_xlim(float(all_rates.min()), float(all_rates.max()))
    # Keep the useful part readable: a diverging tail would squash the curve to a flat line.
    lowest = int(np.argmin(values))
    top, bottom = float(values[: lowest + 1].max()), float(values[lowest])
    span = max(top - bottom, 1e-12)
    if values.max() > top + 0.5 * span:
        axes.set_ylim(bottom - 0.05 * span, top + 0.5 * span)
    title = "learning-rate finder"
    if suggestion is not None and math.isfinite(suggestion) and suggestion > 0:
        nearest = int(np.argmin(np.abs(np.log(rates) - math.log(suggestion))))
        axes.axvline(suggestion, color="tab:red", linestyle="--", linewidth=1)
        axes.plot(rates[nearest], values[nearest], "o", color="tab:red",
                  label=f"suggested lr = {suggestion:.2e}")  # fmt: skip
        title += f" (suggested {suggestion:.2e})"
    axes.legend(fontsize=8)
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    return _save(figure, path)
