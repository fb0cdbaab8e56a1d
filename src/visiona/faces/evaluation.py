"""Face verification evaluation on labelled pairs: ROC curve, AUC, EER and the best threshold.

A pairs file has one pair per line: ``IMAGE_A IMAGE_B LABEL`` (whitespace or comma separated,
``LABEL`` 1 for the same person, 0 for different people); relative paths are relative to the
pairs file; blank lines and ``#`` comments are ignored; a ``a,b,label`` header line is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from visiona.errors import InputNotFoundError, UsageError


@dataclass(frozen=True)
class Pair:
    first: Path
    second: Path
    same: bool


@dataclass(frozen=True)
class VerificationReport:
    """Quality of distance-threshold verification on labelled pairs.

    Attributes:
        distances: ``(P,)`` embedding distance per evaluated pair.
        labels: ``(P,)`` bool, True for same-person pairs.
        fpr: ``(T,)`` false-positive rate per ROC threshold.
        tpr: ``(T,)`` true-positive rate per ROC threshold.
        thresholds: ``(T,)`` distance thresholds (a pair is "same" at distance ≤ threshold).
        auc: Area under the ROC curve.
        eer: Equal error rate (where false accept = false reject rate).
        eer_threshold: Distance threshold at the EER.
        best_threshold: Distance threshold with the highest accuracy on these pairs.
        best_accuracy: That accuracy.
        skipped: Pairs not evaluated (no face in an image), with the reason.
    """

    distances: np.ndarray
    labels: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    eer: float
    eer_threshold: float
    best_threshold: float
    best_accuracy: float
    skipped: tuple[tuple[str, str], ...] = ()

    def accuracy_at(self, threshold: float) -> float:
        return float(np.mean((self.distances <= threshold) == self.labels))

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": len(self.distances),
            "same_pairs": int(self.labels.sum()),
            "auc": self.auc,
            "eer": self.eer,
            "eer_threshold": self.eer_threshold,
            "best_threshold": self.best_threshold,
            "best_accuracy": self.best_accuracy,
            "skipped": [list(item) for item in self.skipped],
        }


def read_pairs(path: Path) -> list[Pair]:
    """Parse a pairs file (see the module docstring).

    Raises:
        InputNotFoundError: The file is missing.
        UsageError: A line is malformed (the message gives its number).
    """
    if not path.is_file():
        raise InputNotFoundError(f"pairs file not found: {str(path)!r}")
    pairs = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f for f in re.split(r"[,\s]+", line) if f]
        if number == 1 and fields and fields[-1].lower() in ("label", "same"):
            continue
        if len(fields) != 3 or fields[2] not in ("0", "1"):
            raise UsageError(
                f"{path}:{number}: expected 'IMAGE_A IMAGE_B LABEL' with LABEL 0 or 1, got {raw!r}"
            )
        first, second = (Path(f).expanduser() for f in fields[:2])
        pairs.append(
            Pair(
                first if first.is_absolute() else path.parent / first,
                second if second.is_absolute() else path.parent / second,
                fields[2] == "1",
            )
        )
    if not pairs:
        raise UsageError(f"{path} holds no pairs")
    return pairs


def verification_report(
    distances: np.ndarray, labels: np.ndarray, skipped: tuple[tuple[str, str], ...] = ()
) -> VerificationReport:
    """ROC, AUC, EER and best threshold from pair distances and same-person labels.

    Raises:
        UsageError: The pairs do not include both same-person and different-person pairs.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    distances = np.asarray(distances, np.float64)
    labels = np.asarray(labels, bool)
    if labels.all() or not labels.any():
        raise UsageError("evaluation needs both same-person (1) and different-person (0) pairs")
    # A smaller distance means "more likely the same": score with the negated distance.
    fpr, tpr, negated = roc_curve(labels, -distances)
    thresholds = -negated
    finite = np.isfinite(thresholds)
    fpr, tpr, thresholds = fpr[finite], tpr[finite], thresholds[finite]
    fnr = 1 - tpr
    at = int(np.argmin(np.abs(fnr - fpr)))
    candidates = np.unique(distances)
    accuracies = [(np.mean((distances <= t) == labels), t) for t in candidates]
    best_accuracy, best_threshold = max(accuracies, key=lambda item: (item[0], -item[1]))
    return VerificationReport(
        distances=distances.astype(np.float32), labels=labels, fpr=fpr, tpr=tpr,
        thresholds=thresholds, auc=float(roc_auc_score(labels, -distances)),
        eer=float((fpr[at] + fnr[at]) / 2), eer_threshold=float(thresholds[at]),
        best_threshold=float(best_threshold), best_accuracy=float(best_accuracy),
        skipped=skipped,
    )  # fmt: skip


def evaluate_pairs(
    pairs: list[Pair],
    embed: Callable[[Path], np.ndarray | None],
    progress: Callable[[], Any] | None = None,
) -> VerificationReport:
    """Embed both images of every pair (each image once) and report verification quality.

    Args:
        pairs: Labelled pairs.
        embed: Path → ``(128,)`` embedding of its main face, or None when it has no face.
        progress: Called after each pair.
    """
    cache: dict[Path, np.ndarray | None] = {}
    distances, labels, skipped = [], [], []
    for pair in pairs:
        vectors = []
        for path in (pair.first, pair.second):
            if path not in cache:
                cache[path] = embed(path)
            vectors.append(cache[path])
        if vectors[0] is None or vectors[1] is None:
            missing = pair.first if vectors[0] is None else pair.second
            skipped.append((f"{pair.first} {pair.second}", f"no face in {missing}"))
        else:
            distances.append(float(np.linalg.norm(vectors[0] - vectors[1])))
            labels.append(pair.same)
        if progress:
            progress()
    if not distances:
        raise UsageError("no pair could be evaluated: no face was found in the images")
    return verification_report(np.array(distances), np.array(labels), tuple(skipped))


def plot_roc(report: VerificationReport, path: Path) -> Path:
    """Save the ROC curve (with the EER point) as an image."""
    from visiona.viz.plots import _figure, _save

    figure = _figure(5, 5)
    axes = figure.add_subplot()
    axes.plot(report.fpr, report.tpr, label=f"ROC (AUC {report.auc:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    axes.scatter([report.eer], [1 - report.eer], color="red", zorder=3,
                 label=f"EER {report.eer:.3f} @ {report.eer_threshold:.3f}")  # fmt: skip
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("face verification")
    axes.legend(loc="lower right")
    return _save(figure, path)
