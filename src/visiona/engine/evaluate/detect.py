"""Evaluate a detector on a labelled data set: COCO mAP, per-class AP, PR curves, confusions.

:func:`detection_eval_images` picks the images (a split of a COCO/YOLO/VOC data set, bad labels
left out and reported); :func:`evaluate_detector` runs the model through the same
:class:`~visiona.engine.predict.Predictor` as ``visiona predict detect`` and scores the results
with :class:`~visiona.metrics.detection.DetectionMetrics` (torchmetrics with the pycocotools
backend: the numbers are COCOeval's), optionally writing ``metrics.json``, ``pr_curves.png`` and
``confusion_matrix.png`` (and the same for masks when the model predicts them).
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

    from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, Problem
    from visiona.metrics.detection import DetectionReport
    from visiona.models.load import LoadedModel

SUBSETS = ("auto", "train", "val", "test", "all")
EVAL_CONF = 0.001
"""Score threshold for mAP: keep (almost) everything, as COCO evaluation expects (``predict``'s
0.25 would cut the precision-recall curve short and lower mAP)."""


@dataclass
class DetectionEvaluation:
    """What :func:`evaluate_detector` measured.

    Attributes:
        boxes: Box metrics.
        masks: Mask metrics, when the model predicts masks and the labels have them.
        num_images: Images scored.
        subset: The split evaluated.
        problems: Label problems found (the bad labels were left out).
        unreadable: ``(file, reason)`` of images that could not be decoded (left out).
        files: Written files by name.
        settings: The prediction settings used: ``conf``, ``iou`` (class-aware NMS on top of
            the network's own; 1 = off), ``max_det`` (detections kept per image).
    """

    boxes: DetectionReport
    masks: DetectionReport | None
    num_images: int
    subset: str
    problems: list[Problem] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    settings: dict[str, float | int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (``metrics.json``)."""
        return {
            "num_images": self.num_images,
            "subset": self.subset,
            "settings": dict(self.settings),
            "boxes": self.boxes.to_dict(),
            "masks": None if self.masks is None else self.masks.to_dict(),
            "problems": [str(p) for p in self.problems],
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
        }


def detection_eval_images(
    data: str | Path, subset: str = "auto"
) -> tuple[DetectionDataset, list[ImageAnnotation], str, list[Problem]]:
    """The images to evaluate: ``auto`` = the test split, else val, else every image.

    Returns:
        ``(dataset, images, subset used, problems)``; bad labels are already left out.

    Raises:
        UsageError: Unknown subset, or the subset has no images.
    """
    from visiona.data.detection.convert import read_dataset
    from visiona.data.detection.splits import clean_dataset, split_role

    if subset not in SUBSETS:
        raise UsageError(f"--subset must be one of {', '.join(SUBSETS)}, not {subset!r}")
    dataset, problems = read_dataset(data)
    images, cleaning = clean_dataset(dataset)
    problems = [*problems, *(p for p in cleaning if p not in problems)]
    by_role: dict[str, list[ImageAnnotation]] = {}
    for image in images:
        by_role.setdefault(split_role(image.split) or "other", []).append(image)
    if subset == "auto":
        subset = next((r for r in ("test", "val") if by_role.get(r)), "all")
    chosen = images if subset == "all" else by_role.get(subset, [])
    if not chosen:
        raise UsageError(
            f"the data set {str(data)!r} has no usable {subset!r} images",
            hint=f"splits present: {', '.join(sorted(by_role)) or 'none'}; try --subset all",
        )
    return dataset, chosen, subset, problems


def _class_map(model_names: tuple[str, ...], data_names: tuple[str, ...]) -> np.ndarray:
    """Data set class id → model class id, by name; every data set class must be known."""
    index = {name: k for k, name in enumerate(model_names)}
    missing = [name for name in data_names if name not in index]
    if missing:
        raise UsageError(
            f"the data set has classes the model does not predict: {', '.join(missing[:5])}",
            hint=f"the model's classes: {', '.join(model_names[:10])}"
            + ("..." if len(model_names) > 10 else ""),
        )
    return np.array([index[name] for name in data_names], dtype=np.int64)


def evaluate_detector(
    loaded: LoadedModel,
    data: str | Path,
    *,
    subset: str = "auto",
    batch_size: int = 8,
    device: str = "auto",
    out_dir: Path | None = None,
    console: Console | None = None,
    conf: float = EVAL_CONF,
    iou: float | None = None,
    max_det: int | None = None,
) -> DetectionEvaluation:
    """Run ``loaded`` over a labelled data set and compute COCO metrics.

    Args:
        loaded: A detection-family model (``load_model(..., task="detect")``).
        data: COCO/YOLO/VOC data set folder.
        subset: ``auto``, ``train``, ``val``, ``test`` or ``all``.
        batch_size: Images per forward pass.
        device: ``auto``, ``cpu``, ``cuda``...
        out_dir: Where to write ``metrics.json`` and the plots (None: write nothing).
        console: Progress and messages.
        conf: Keep detections scoring at least this (default :data:`EVAL_CONF`, 0.001).
        iou: Class-aware NMS IoU threshold on top of the network's own (default: ``predict``'s,
            0.7; 1 switches it off).
        max_det: Detections kept per image, best first (default: ``predict``'s, 100; COCO
            counts at most 100 per image).

    Raises:
        UsageError: Bad subset, bad settings, unknown classes, no images.
    """
    from dataclasses import replace

    from visiona.engine.predict.predictor import Predictor
    from visiona.metrics.detection import DetectionMetrics, GroundTruth
    from visiona.tasks.detect import DEFAULT_IOU, DEFAULT_MAX_DET

    settings = {
        "conf": float(conf),
        "iou": float(DEFAULT_IOU if iou is None else iou),
        "max_det": int(DEFAULT_MAX_DET if max_det is None else max_det),
    }
    dataset, images, used, problems = detection_eval_images(data, subset)
    model_names = tuple(loaded.weights.class_names)
    to_model = _class_map(model_names, dataset.classes)
    predictor = Predictor(loaded, device=device, batch_size=batch_size)
    with_masks = loaded.task == "segment-instances" and dataset.has_masks
    boxes = DetectionMetrics(model_names, iou_type="bbox")
    masks = DetectionMetrics(model_names, iou_type="segm") if with_masks else None
    files = [dataset.image_path(image) for image in images]
    unreadable: list[tuple[str, str]] = []
    from visiona.engine.evaluate.progress import evaluation_progress

    with evaluation_progress(console, len(files)) as advance:
        items = predictor.stream(files, **settings)
        for image, item in zip(images, items, strict=True):
            advance(1)
            if not item.ok:
                unreadable.append((image.file, str(item.error)))
                continue
            truth = GroundTruth.from_annotation(image, masks=with_masks)
            truth = replace(truth, class_ids=to_model[truth.class_ids])
            boxes.update([item.result], [truth])
            if masks is not None:
                masks.update([item.result], [truth])
    if len(unreadable) == len(images):
        raise UsageError(f"none of the {len(images)} {used!r} images could be read")
    report = DetectionEvaluation(
        boxes=boxes.compute(),
        masks=None if masks is None else masks.compute(),
        num_images=len(images) - len(unreadable),
        subset=used,
        problems=problems,
        unreadable=unreadable,
        settings=settings,
    )
    if out_dir is not None:
        _write_outputs(report, out_dir)
    return report


def _write_outputs(report: DetectionEvaluation, out_dir: Path) -> None:
    from visiona.viz.detection_plots import plot_detection_confusion, plot_pr_curves

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = out_dir / "metrics.json"
    metrics.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    report.files["metrics"] = metrics
    for prefix, part in (("", report.boxes), ("mask_", report.masks)):
        if part is None:
            continue
        report.files[f"{prefix}pr_curves"] = plot_pr_curves(
            part, out_dir / f"{prefix}pr_curves.png"
        )
        report.files[f"{prefix}confusion_matrix"] = plot_detection_confusion(
            part, out_dir / f"{prefix}confusion_matrix.png"
        )
