"""Evaluate a segmentation model on labelled images: mIoU, per-class IoU and Dice, accuracy.

The model runs through the same :class:`~visiona.engine.predict.Predictor` as
``visiona predict segment`` (tiling included); predicted and true class maps are accumulated into
one pixel confusion matrix (torchmetrics) and scored by
:mod:`visiona.metrics.segmentation`. With an output folder: ``metrics.json``,
``confusion_matrix.png`` and ``worst_images.png`` (the lowest-mIoU images: image, truth, prediction).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.data.detection.annotations import Problem
    from visiona.metrics.segmentation import SegmentationReport
    from visiona.models.load import LoadedModel

SUBSETS = ("auto", "train", "val", "test", "all")
WORST_SHOWN = 6


@dataclass
class SegmentationEvaluation:
    report: SegmentationReport
    num_images: int
    subset: str
    per_image: list[tuple[str, float]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": "segment",
            "num_images": self.num_images,
            "subset": self.subset,
            **self.report.to_dict(),
            "per_image_miou": {name: round(v, 6) for name, v in self.per_image},
            "problems": [str(p) for p in self.problems],
        }


def _pick(dataset: Any, subset: str) -> tuple[list[Any], str]:
    if subset not in SUBSETS:
        raise UsageError(f"unknown subset {subset!r}; use one of {', '.join(SUBSETS)}")
    labelled = dataset.labelled()
    if subset == "all":
        return labelled, "all"
    if subset == "auto":
        for name in ("test", "val"):
            chosen = [s for s in labelled if s.split == name]
            if chosen:
                return chosen, name
        return labelled, "all"
    chosen = [s for s in labelled if s.split == subset]
    if not chosen:
        raise UsageError(f"the data set has no {subset!r} split", hint="use --subset all")
    return chosen, subset


def evaluate_segmenter(
    model: LoadedModel,
    data: str | Path,
    *,
    subset: str = "auto",
    output: str | Path | None = None,
    backend: str | None = None,
    device: str | None = "auto",
    tile: int = 512,
    overlap: int = 64,
    console: Console | None = None,
) -> SegmentationEvaluation:
    """Score ``model`` on the labelled images of ``data`` (see the module docs)."""
    from visiona.data.segmentation.check import check_sample
    from visiona.data.segmentation.dataset import read_segmentation_dataset
    from visiona.engine.predict.predictor import Predictor
    from visiona.metrics.segmentation import SegmentationMetrics, image_iou

    dataset = read_segmentation_dataset(data)
    names = model.weights.class_names
    if len(names) != dataset.num_classes:
        raise UsageError(
            f"the model predicts {len(names)} classes {names}, the data set has "
            f"{dataset.num_classes} {dataset.classes}"
        )
    samples, used = _pick(dataset, subset)
    predictor = Predictor(model, backend=backend, device=device, batch_size=1, workers=0)
    metrics = SegmentationMetrics(names)
    problems: list[Problem] = []
    per_image: list[tuple[str, float]] = []
    kept: list[tuple[float, Any, Any, Any]] = []
    for index, sample in enumerate(samples):
        found, truth = check_sample(dataset, sample)
        problems += found
        if truth is None:
            continue
        if console is not None:
            console.print(f"[{index + 1}/{len(samples)}] {sample.image.name}", markup=False)
        (item,) = list(predictor.stream([sample.image], tile=tile, overlap=overlap))
        if item.error is not None:
            problems.append(_problem(dataset, sample, str(item.error)))
            continue
        predicted = item.result.class_map
        metrics.update(predicted, truth)
        score = image_iou(predicted, truth, len(names))
        per_image.append((dataset.relative(sample.image), score))
        kept.append((score, item.image.array, truth, item.result))
        kept = sorted(kept, key=lambda k: k[0])[:WORST_SHOWN]
    if not per_image:
        raise UsageError(f"{data}: no image with a usable mask to evaluate on")
    evaluation = SegmentationEvaluation(metrics.compute(), len(per_image), used, per_image,
                                        problems)  # fmt: skip
    if output is not None:
        evaluation.files = _write(evaluation, kept, Path(output))
    return evaluation


def _problem(dataset: Any, sample: Any, message: str) -> Problem:
    from visiona.data.detection.annotations import Problem

    return Problem(dataset.relative(sample.image), None, message, kind="bad-image")


def _write(evaluation: SegmentationEvaluation, worst: list[Any], out: Path) -> dict[str, Path]:
    from visiona.results.segmentation import SegmentationMap
    from visiona.viz.plots import plot_confusion_matrix, plot_image_grid

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    metrics = out / "metrics.json"
    partial = metrics.with_name(metrics.name + ".part")
    partial.write_text(json.dumps(evaluation.to_dict(), indent=2))
    partial.replace(metrics)
    files["metrics"] = metrics
    report = evaluation.report
    files["confusion_matrix"] = plot_confusion_matrix(
        report.confusion, report.class_names, out / "confusion_matrix.png",
        title="Pixel confusion matrix (rows: truth)",
    )  # fmt: skip
    images, captions = [], []
    for score, image, truth, result in worst:
        truth_map = SegmentationMap(truth, result.names, result.colors)
        images += [image, truth_map.draw(image, 0.6, legend=False), result.draw(image, 0.6)]
        captions += [f"mIoU {score:.2f}", "truth", "prediction"]
    files["worst_images"] = plot_image_grid(images, captions, out / "worst_images.png", columns=3)
    return files


def print_segmentation(evaluation: SegmentationEvaluation, console: Console) -> None:
    """A table of per-class IoU/Dice and the summary line."""
    from rich.table import Table

    report = evaluation.report
    table = Table(title=f"{evaluation.num_images} images ({evaluation.subset})")
    for column in ("class", "IoU", "Dice", "pixels"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for i, name in enumerate(report.class_names):
        iou, dice = report.iou[i], report.dice[i]
        table.add_row(
            name,
            "-" if iou is None else f"{iou:.4f}",
            "-" if dice is None else f"{dice:.4f}",
            str(int(np.asarray(report.confusion)[i].sum())),
        )
    console.print(table)
    console.print(
        f"mIoU {report.miou:.4f}  mean Dice {report.mean_dice:.4f}  "
        f"pixel accuracy {report.pixel_accuracy:.4f}",
        markup=False,
    )
