"""Evaluate a classifier on labelled images: accuracy, top-k, per-class scores, confusions, plots.

:func:`evaluation_samples` picks the images (a test/val folder, a part of a run's split, or a whole
class-per-folder dataset, labelled in the model's class order); :func:`evaluate_classifier` runs
the model over them and returns an :class:`EvaluationReport`, optionally writing
``metrics.json``, ``confusion_matrix.png``, ``highest_loss.png`` and, for PyTorch models,
``highest_loss_gradcam.png`` (where the model looked in those images).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.data.dataset import BadImage, check_images
from visiona.data.folder import (
    SPLIT_NAMES,
    DataSplits,
    Sample,
    has_explicit_splits,
    scan_folder,
)
from visiona.engine.evaluate.progress import evaluation_progress
from visiona.errors import InputNotFoundError, UsageError

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from visiona.models.load import LoadedModel

SUBSETS = ("auto", *SPLIT_NAMES)
DEFAULT_TOP_K = (1, 5)
MOST_CONFUSED = 10
GRID_THUMBNAIL = 256
"""Longest side of the images drawn in the highest-loss grid."""


@dataclass
class EvaluationReport:
    """What an evaluation measured.

    Attributes:
        num_images: Images evaluated (readable ones; skipped images are not counted).
        accuracy: Top-1 accuracy over all images (micro average).
        top_k: ``k`` → top-k accuracy, for each ``k`` not above the model's class count.
        per_class: One dict per reported class: ``class``, ``precision``, ``recall``, ``f1``,
            ``support`` (true images of the class). Classes with neither images nor predictions
            are left out (e.g. the 997 ImageNet classes absent from a 3-class folder).
        macro_f1: Mean F1 over the classes in ``per_class``.
        confusion_matrix: Counts ``(K, K)`` over ``classes``; rows true, columns predicted.
        most_confused: Up to 10 ``(true, predicted, count)`` off-diagonal pairs, most frequent
            first.
        skipped: Images that could not be read and were left out.
        files: Files written: ``metrics``, ``confusion_matrix``, ``highest_loss`` → path.
        tta: Whether horizontal-flip test-time augmentation was used.
        classes: The ``K`` class names of ``per_class`` and ``confusion_matrix``, model order.
        highest_loss: The images with the highest cross-entropy, highest first: ``path``,
            ``true``, ``predicted``, ``probability`` (of the prediction), ``loss``.
    """

    num_images: int
    accuracy: float
    top_k: dict[int, float]
    per_class: list[dict[str, Any]]
    macro_f1: float
    confusion_matrix: np.ndarray
    most_confused: list[tuple[str, str, int]]
    skipped: list[BadImage] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    tta: bool = False
    classes: list[str] = field(default_factory=list)
    highest_loss: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``top_k`` keys become strings, paths become strings)."""
        return {
            "num_images": self.num_images,
            "accuracy": self.accuracy,
            "top_k": {str(k): v for k, v in sorted(self.top_k.items())},
            "macro_f1": self.macro_f1,
            "tta": self.tta,
            "classes": list(self.classes),
            "per_class": [dict(row) for row in self.per_class],
            "confusion_matrix": np.asarray(self.confusion_matrix).astype(int).tolist(),
            "most_confused": [
                {"true": true, "predicted": predicted, "count": count}
                for true, predicted, count in self.most_confused
            ],
            "highest_loss": [dict(row) for row in self.highest_loss],
            "skipped": [{"path": bad.path, "reason": bad.reason} for bad in self.skipped],
            "files": {name: str(path) for name, path in self.files.items()},
        }


def _explicit_split_root(data: Path, classes: Sequence[str]) -> bool:
    """``data`` holds split folders: ``train/`` + ``val/``/``test/``, or only split folders
    (e.g. just ``test/``) when no class of the model is called like a split."""
    if has_explicit_splits(data):
        return True
    subfolders = {p.name for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return bool(subfolders) and subfolders <= set(SPLIT_NAMES) and not subfolders & set(classes)


def evaluation_samples(
    data: str | Path,
    classes: Sequence[str],
    subset: str = "auto",
    split_file: Path | None = None,
) -> list[Sample]:
    """The labelled images to evaluate on, labelled in the model's class order.

    Args:
        data: Dataset folder: class subfolders, or ``train/`` + ``val/`` (+ ``test/``) folders.
        classes: The model's class names; label ``i`` means ``classes[i]``.
        subset: ``"auto"``: with split folders ``test/`` if present, else ``val/``; without them
            the whole folder (or, with ``split_file``, its test part if any, else val).
            ``"train"``, ``"val"``, ``"test"``: that part of ``split_file`` or that split folder.
        split_file: A run's ``split.json``; relative paths in it are taken relative to ``data``.

    Raises:
        UsageError: Unknown subset; a folder class the model does not know; split classes that
            differ from the model's; a subset asked for without split folders or split file.
        InputNotFoundError: ``data`` or the split file is missing, or no image was selected.
    """
    if subset not in SUBSETS:
        raise UsageError(f"unknown subset {subset!r}; use one of {', '.join(SUBSETS)}")
    root = Path(data).expanduser()
    if split_file is not None:
        samples, described = _split_file_samples(root, classes, subset, Path(split_file))
    else:
        if not root.is_dir():
            raise InputNotFoundError(f"dataset folder not found: {str(root)!r}")
        if _explicit_split_root(root, classes):
            if subset == "auto":
                subset = "test" if (root / "test").is_dir() else "val"
            folder = root / subset
            if not folder.is_dir():
                present = [n for n in SPLIT_NAMES if (root / n).is_dir()]
                raise InputNotFoundError(
                    f"{root} has no {subset}/ folder",
                    hint=f"it has: {', '.join(f'{n}/' for n in present)}; pick one with --subset",
                )
            samples = list(scan_folder(folder, classes=classes).samples)
            described = str(folder)
        elif subset != "auto":
            raise UsageError(
                f"--subset {subset} needs split folders ({root}/{subset}/) or a split file",
                hint="pass the training run's split with --split RUN_DIR/split.json",
            )
        else:
            samples = list(scan_folder(root, classes=classes).samples)
            described = str(root)
    if not samples:
        raise InputNotFoundError(f"no images to evaluate in {described}")
    return samples


def _split_file_samples(
    root: Path, classes: Sequence[str], subset: str, split_file: Path
) -> tuple[list[Sample], str]:
    if not split_file.is_file():
        raise InputNotFoundError(f"split file not found: {str(split_file)!r}")
    try:
        splits = DataSplits.from_json(split_file.read_text(), root=root)
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{split_file} is not a visiona split file ({error})") from None
    if tuple(splits.classes) != tuple(classes):
        raise UsageError(
            f"checkpoint classes don't match the data: {split_file} has "
            f"{', '.join(splits.classes)}; the model has {', '.join(classes)}",
            hint="use the split.json of the run that trained this model",
        )
    if subset == "auto":
        subset = "test" if splits.test else "val"
    return list(getattr(splits, subset)), f"the {subset} part of {split_file}"


def _checked_top_k(top_k: Sequence[int] | None, num_classes: int) -> list[int]:
    wanted = DEFAULT_TOP_K if top_k is None else tuple(top_k)
    if any(k < 1 for k in wanted):
        raise UsageError(f"top-k values must be at least 1, got {list(wanted)}")
    return sorted({int(k) for k in wanted if k <= num_classes})


def _thumbnail(path: Path) -> np.ndarray:
    from PIL import Image

    from visiona.io.images import load_image

    image = Image.fromarray(load_image(path).array)
    image.thumbnail((GRID_THUMBNAIL, GRID_THUMBNAIL))
    return np.asarray(image)


def evaluate_classifier(
    model: LoadedModel,
    samples: Sequence[Sample],
    *,
    top_k: Sequence[int] | None = None,
    batch_size: int = 64,
    tta: bool = False,
    device: str = "auto",
    out_dir: Path | None = None,
    num_workers: int = 0,
    console: Console | None = None,
    max_bad_fraction: float = 0.05,
    loss_grid: int = 16,
) -> EvaluationReport:
    """Run a classifier over labelled images and measure it.

    Images are decoded once up front (:func:`~visiona.data.dataset.check_images`); unreadable
    ones are skipped and listed. Inputs are preprocessed exactly as at prediction time
    (:func:`~visiona.data.transforms.eval_transform`).

    Args:
        model: The classifier; ``model.weights`` gives preprocessing and class names.
        samples: Labelled images; labels index ``model.weights.class_names``.
        top_k: Top-k accuracies to report (default ``(1, 5)``); values above the number of
            classes are dropped.
        batch_size: Images per forward pass.
        tta: Average the softmax of each image and its horizontal mirror.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        out_dir: When given, write ``metrics.json``, ``confusion_matrix.png`` and
            ``highest_loss.png`` there.
        num_workers: DataLoader worker processes for decoding (0: in this process).
        console: Where progress bars go (none without a console or off a terminal).
        max_bad_fraction: Abort when more than this share of the images cannot be read.
        loss_grid: Images in the highest-loss list and grid (0: none).

    Returns:
        The report; ``report.files`` lists what was written.

    Raises:
        InputNotFoundError: No samples, or none of them could be read.
        VisionaError: More than ``max_bad_fraction`` of the images cannot be read.
        UsageError: Bad ``top_k``, ``batch_size`` or ``device``.
        ValueError: A label outside the model's classes, or a model whose output does not
            match its class names.
    """
    import torch
    from torch.utils.data import DataLoader

    from visiona.data.dataset import ImageDataset
    from visiona.data.transforms import eval_transform, hflip_tta
    from visiona.engine.predict.backends import resolve_device
    from visiona.tasks.classify import probabilities_from_logits

    class_names = list(model.weights.class_names)
    num_classes = len(class_names)
    if not samples:
        raise InputNotFoundError("no images to evaluate")
    if batch_size < 1:
        raise UsageError(f"batch size must be at least 1, got {batch_size}")
    if any(not 0 <= s.label < num_classes for s in samples):
        raise ValueError(f"sample labels must be in 0..{num_classes - 1} (the model's classes)")
    ks = _checked_top_k(top_k, num_classes)
    device = resolve_device(device)

    good, skipped = check_images(samples, max_bad_fraction=max_bad_fraction, console=console)
    if not good:
        raise InputNotFoundError(f"none of the {len(samples)} images could be read")

    loader = DataLoader(
        ImageDataset(good, eval_transform(model.weights.preprocessing)),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.startswith("cuda"),
    )
    module = model.module
    was_training = module.training
    first = next(module.parameters(), None)
    home = first.device if first is not None else torch.device("cpu")
    batches: list[torch.Tensor] = []
    labels_seen: list[torch.Tensor] = []
    try:
        module.eval().to(device)
        with torch.inference_mode(), evaluation_progress(console, len(good)) as advance:
            for images, labels in loader:
                images = images.to(device, non_blocking=True)
                count = images.shape[0]
                if tta:
                    both = probabilities_from_logits(module(hflip_tta(images)).float())
                    probs = (both[:count] + both[count:]) / 2
                else:
                    probs = probabilities_from_logits(module(images).float())
                probs = probs.cpu()
                if probs.shape[1] != num_classes:
                    raise ValueError(
                        f"model outputs {probs.shape[1]} classes but its record names {num_classes}"
                    )
                batches.append(probs)
                labels_seen.append(labels)
                advance(count)
    finally:
        module.to(home)
        module.train(was_training)

    report = report_from_probabilities(
        torch.cat(batches), torch.cat(labels_seen), good, class_names, top_k=ks,
        skipped=skipped, tta=tta, loss_grid=loss_grid,
    )  # fmt: skip
    if out_dir is not None:
        _write_outputs(report, Path(out_dir), model.architecture, model)
    return report


def report_from_probabilities(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    samples: Sequence[Sample],
    class_names: Sequence[str],
    *,
    top_k: Sequence[int] | None = None,
    skipped: Sequence[BadImage] = (),
    tta: bool = False,
    loss_grid: int = 16,
    out_dir: Path | None = None,
    architecture: str = "",
) -> EvaluationReport:
    """The evaluation report of ``(N, C)`` predicted probabilities against ``(N,)`` labels.

    Shared by :func:`evaluate_classifier` and by heads fitted on cached embeddings, which have
    their probabilities without running a network over images again. ``samples`` are the N
    images in the same order (for the highest-loss list).
    """
    from torchmetrics.classification import (
        MulticlassAccuracy,
        MulticlassConfusionMatrix,
        MulticlassF1Score,
        MulticlassPrecision,
        MulticlassRecall,
    )

    good = samples
    class_names = list(class_names)
    num_classes = len(class_names)
    ks = _checked_top_k(top_k, num_classes)
    metric_args = {"num_classes": num_classes, "validate_args": False}
    accuracy = MulticlassAccuracy(average="micro", top_k=1, **metric_args)
    top_metrics = {k: MulticlassAccuracy(average="micro", top_k=k, **metric_args) for k in ks}
    precision = MulticlassPrecision(average=None, **metric_args)
    recall = MulticlassRecall(average=None, **metric_args)
    f1 = MulticlassF1Score(average=None, **metric_args)
    confusion = MulticlassConfusionMatrix(**metric_args)
    for metric in [accuracy, *top_metrics.values(), precision, recall, f1, confusion]:
        metric.update(probabilities, labels)
    true_p = probabilities.gather(1, labels[:, None]).squeeze(1)
    best_p, best = probabilities.max(dim=1)
    loss = (-true_p.clamp_min(1e-12).log()).numpy()
    predicted = best.numpy()
    confidence = best_p.numpy()

    matrix = confusion.compute().numpy().astype(np.int64)
    support = matrix.sum(axis=1)
    active = np.flatnonzero((support > 0) | (matrix.sum(axis=0) > 0))
    precision_v, recall_v, f1_v = (m.compute().numpy() for m in (precision, recall, f1))
    per_class = [
        {
            "class": class_names[i],
            "precision": float(precision_v[i]),
            "recall": float(recall_v[i]),
            "f1": float(f1_v[i]),
            "support": int(support[i]),
        }
        for i in active
    ]
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0)
    flat = np.argsort(-off_diagonal, axis=None, kind="stable")[:MOST_CONFUSED]
    most_confused = [
        (class_names[i], class_names[j], int(off_diagonal[i, j]))
        for i, j in zip(*np.unravel_index(flat, matrix.shape), strict=True)
        if off_diagonal[i, j] > 0
    ]

    order = np.argsort(-loss, kind="stable")[: max(loss_grid, 0)]
    highest_loss = [
        {
            "path": str(good[i].path),
            "true": class_names[good[i].label],
            "predicted": class_names[int(predicted[i])],
            "probability": float(confidence[i]),
            "loss": float(loss[i]),
        }
        for i in order
    ]

    report = EvaluationReport(
        num_images=len(good),
        accuracy=float(accuracy.compute()),
        top_k={k: float(metric.compute()) for k, metric in top_metrics.items()},
        per_class=per_class,
        macro_f1=float(np.mean(f1_v[active])) if active.size else 0.0,
        confusion_matrix=matrix[np.ix_(active, active)],
        most_confused=most_confused,
        skipped=list(skipped),
        tta=tta,
        classes=[class_names[i] for i in active],
        highest_loss=highest_loss,
    )
    if out_dir is not None:
        _write_outputs(report, Path(out_dir), architecture)
    return report


def _gradcam_grid(model: LoadedModel, rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Grad-CAM overlays of the highest-loss images, for the class the model predicted.

    Returns ``None`` when there is nothing to draw, the model has no gradients (an ONNX file)
    or the grad-cam package is not installed.
    """
    if not rows:
        return None
    from visiona.errors import MissingDependencyError, UsageError

    try:
        from visiona.engine.explain.cam import CamExplainer

        explainer = CamExplainer(model)
    except (MissingDependencyError, UsageError):
        return None
    from PIL import Image

    from visiona.io.images import load_image
    from visiona.viz.plots import plot_image_grid

    overlays, captions = [], []
    for row in rows:
        image = load_image(Path(row["path"]))
        explanation = explainer.explain(image, target=row["predicted"])
        overlay = Image.fromarray(explanation.draw(image.array))
        overlay.thumbnail((GRID_THUMBNAIL, GRID_THUMBNAIL))
        overlays.append(np.asarray(overlay))
        captions.append(f"looked at for {row['predicted']} (true {row['true']})")
    return plot_image_grid(overlays, captions, path, columns=4)


def _write_outputs(
    report: EvaluationReport, out_dir: Path, architecture: str, model: LoadedModel | None = None
) -> None:
    """metrics.json and the pictures; with the ``model``, Grad-CAM of the highest-loss images."""
    from visiona.viz.plots import plot_confusion_matrix, plot_image_grid

    out_dir.mkdir(parents=True, exist_ok=True)
    report.files["confusion_matrix"] = plot_confusion_matrix(
        report.confusion_matrix,
        report.classes,
        out_dir / "confusion_matrix.png",
        normalize=True,
        title=f"{architecture}: accuracy {report.accuracy:.1%} on {report.num_images} images",
    )
    if report.highest_loss:
        rows = report.highest_loss
        captions = [f"{r['true']} → {r['predicted']} ({r['probability']:.2f})" for r in rows]
        report.files["highest_loss"] = plot_image_grid(
            [_thumbnail(Path(r["path"])) for r in rows],
            captions,
            out_dir / "highest_loss.png",
            columns=4,
        )
    cams = (
        _gradcam_grid(model, report.highest_loss, out_dir / "highest_loss_gradcam.png")
        if model is not None
        else None
    )
    if cams is not None:
        report.files["highest_loss_gradcam"] = cams
    metrics_path = out_dir / "metrics.json"
    report.files = {"metrics": metrics_path, **report.files}
    metrics_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
