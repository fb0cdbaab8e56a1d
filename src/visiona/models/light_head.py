"""A frozen embedder plus a light head (kNN, logistic regression, linear) as one classifier.

:class:`EmbeddingClassifier` is an ordinary ``nn.Module``: ``(N, 3, H, W)`` normalised pixels →
``(N, C)`` logits, so its checkpoint predicts, exports to ONNX (backbone and head in one graph)
and serves like any classifier. The checkpoint's architecture is :data:`ARCHITECTURE`; its
options name the backbone and head, and :func:`build_from_options` rebuilds the empty network
before the tensors are loaded.

Heads work on L2-normalised features:

- ``linear`` / ``logistic``: logits = ``W f + b``;
- ``knn``: the ``k`` most cosine-similar training vectors vote with weight ``exp(sim / T)``
  (``T = 0.07``, as in DINO's kNN evaluation); logits are the log vote shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

ARCHITECTURE = "embedding_head"
HEADS = ("knn", "logistic", "linear")
KNN_TEMPERATURE = 0.07


def _classifier_class():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class EmbeddingClassifier(nn.Module):
        """Backbone features → L2 normalisation → head.

        Args:
            backbone: ``(N, 3, H, W)`` → ``(N, D)`` features.
            head: ``knn``, ``logistic`` or ``linear``.
            num_classes: ``C``.
            feature_dim: ``D``.
            memory_size: Training vectors kept by a kNN head.
            k: Neighbours that vote (kNN).
        """

        def __init__(
            self,
            backbone: nn.Module,
            head: str,
            num_classes: int,
            feature_dim: int,
            memory_size: int = 0,
            k: int = 10,
        ) -> None:
            super().__init__()
            self.backbone = backbone
            self.head_kind = head
            self.num_classes = num_classes
            self.k = k
            if head == "knn":
                self.register_buffer("memory", torch.zeros(memory_size, feature_dim))
                self.register_buffer("memory_labels", torch.zeros(memory_size, dtype=torch.long))
                self.head = None
            else:
                self.head = nn.Linear(feature_dim, num_classes)

        def classify_features(self, features: torch.Tensor) -> torch.Tensor:
            """``(N, D)`` features (normalised or not) → ``(N, C)`` logits."""
            features = F.normalize(features, dim=-1)
            if self.head is not None:
                return self.head(features)
            k = min(self.k, self.memory.shape[0])
            similarity = features @ self.memory.T
            top, index = similarity.topk(k, dim=1)
            weights = torch.exp(top / KNN_TEMPERATURE - 1 / KNN_TEMPERATURE)
            votes = F.one_hot(self.memory_labels[index], self.num_classes).to(features.dtype)
            shares = (votes * weights[..., None]).sum(dim=1)
            shares = shares / shares.sum(dim=1, keepdim=True).clamp_min(1e-12)
            return torch.log(shares.clamp_min(1e-6))

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.classify_features(self.backbone(pixels))

    return EmbeddingClassifier


def embedding_classifier(
    backbone: nn.Module,
    head: str,
    num_classes: int,
    feature_dim: int,
    memory_size: int = 0,
    k: int = 10,
) -> nn.Module:
    """A new :class:`EmbeddingClassifier` (see the module docstring)."""
    if head not in HEADS:
        raise UsageError(f"unknown head {head!r}; use one of {', '.join(HEADS)}")
    return _classifier_class()(backbone, head, num_classes, feature_dim, memory_size, k)


def build_from_options(
    num_classes: int,
    options: dict[str, Any],
    build_backbone: Callable[[str, dict[str, Any]], nn.Module],
) -> nn.Module:
    """The empty network a light-head checkpoint describes (its tensors are loaded next).

    Args:
        num_classes: Output classes.
        options: The checkpoint's architecture options: ``backbone``, ``backbone_options``,
            ``hub_kind`` + ``hub_config`` (transformers backbones), ``head``, ``feature_dim``,
            ``memory_size``, ``k``.
        build_backbone: ``(catalogue name, architecture options)`` → randomly initialised
            feature extractor, for catalogue backbones.
    """
    if options.get("hub_kind"):
        from visiona.models.hf import build_network

        backbone = build_network(options["hub_kind"], options["hub_config"])
    else:
        backbone = build_backbone(options["backbone"], dict(options.get("backbone_options") or {}))
    return embedding_classifier(
        backbone,
        options["head"],
        num_classes,
        int(options["feature_dim"]),
        int(options.get("memory_size", 0)),
        int(options.get("k", 10)),
    )
