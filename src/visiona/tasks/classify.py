"""Image classification: logits → top-k Classification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from visiona import defaults
from visiona.errors import UsageError
from visiona.results.classification import Classification
from visiona.tasks.base import ImageMeta, Task

if TYPE_CHECKING:
    import torch

    from visiona.weights.record import Weights

DEFAULT_TOP_K = defaults.TOP_K


def probabilities_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` logits → ``(N, C)`` probabilities; a single logit is a binary sigmoid output."""
    import torch

    if logits.ndim != 2:
        raise ValueError(f"classifier output must be (N, C) logits, got {tuple(logits.shape)}")
    if logits.shape[1] == 1:
        positive = torch.sigmoid(logits)
        return torch.cat([1 - positive, positive], dim=1)
    return logits.softmax(dim=1)


class ClassifyTask(Task):
    """Single-label classification of whole images (or a region of interest)."""

    name = "classify"
    result_type = Classification

    def postprocess(
        self,
        outputs: torch.Tensor,
        metas: Sequence[ImageMeta],
        weights: Weights,
        *,
        top_k: int = DEFAULT_TOP_K,
        **options: Any,
    ) -> list[Classification]:
        """``(N, C)`` logits → N Classification results with the ``top_k`` classes each."""
        if options:
            raise UsageError(f"classify does not take option(s): {', '.join(sorted(options))}")
        if top_k < 1:
            raise UsageError(f"top_k must be at least 1, got {top_k}")
        probabilities = probabilities_from_logits(outputs).numpy()
        class_names = weights.class_names
        if len(class_names) != probabilities.shape[1]:
            raise ValueError(
                f"model outputs {probabilities.shape[1]} classes but its record names "
                f"{len(class_names)}"
            )
        return [
            Classification.from_probabilities(
                row,
                class_names,
                top_k=top_k,
                source=meta.source,
                image_size=meta.size,
                roi=meta.roi,
            )
            for row, meta in zip(probabilities, metas, strict=True)
        ]


def head_outputs(num_classes: int, loss: str) -> int:
    """Output units of the head: one logit for binary cross-entropy, else one per class."""
    if loss == "bce":
        if num_classes != 2:
            raise UsageError(f"--loss bce is for 2 classes; this dataset has {num_classes}")
        return 1
    return num_classes


def classification_loss(loss: str, label_smoothing: float = 0.0):
    """``loss(logits (N, C|1), targets (N,) int or (N, C) soft) -> scalar``."""
    from torch.nn import functional as F

    def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)

    def binary(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        positive = targets[:, 1] if targets.ndim == 2 else targets.float()
        if label_smoothing:
            positive = positive * (1 - label_smoothing) + 0.5 * label_smoothing
        return F.binary_cross_entropy_with_logits(logits[:, 0], positive.to(logits.dtype))

    return binary if loss == "bce" else cross_entropy
