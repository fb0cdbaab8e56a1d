"""Embeddings: a network's ``(N, D)`` features → one :class:`Embeddings` vector per image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError
from visiona.results.embeddings import Embeddings
from visiona.tasks.base import ImageMeta, Task

if TYPE_CHECKING:
    from visiona.weights.record import Weights


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """``(N, D)`` rows scaled to unit L2 norm (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class EmbedTask(Task):
    """Image embeddings: pooled classifier features, DINOv2/CLIP image towers, dlib faces."""

    name = "embed"
    result_type = Embeddings

    def check_options(self, weights: Weights, **options: Any) -> None:
        unknown = set(options) - {"normalize"}
        if unknown:
            raise UsageError(f"embed does not take option(s): {', '.join(sorted(unknown))}")

    def postprocess(
        self,
        outputs: Any,
        metas: Sequence[ImageMeta],
        weights: Weights,
        *,
        normalize: bool = True,
        **options: Any,
    ) -> list[Embeddings]:
        """``(N, D)`` features (or a list of ``(D,)``/``(0,)`` vectors) → N Embeddings.

        Args:
            normalize: Scale each vector to unit L2 norm (cosine similarity = dot product).
        """
        self.check_options(weights, **options)
        if isinstance(outputs, list | tuple):
            rows = [np.asarray(row, np.float32).reshape(-1) for row in outputs]
        else:
            array = np.asarray(outputs, dtype=np.float32)
            if array.ndim != 2:
                raise ValueError(f"an embedder must output (N, D) features, got {array.shape}")
            rows = list(array)
        name = weights.full_name
        return [
            Embeddings(
                vector=l2_normalize(row[None])[0] if normalize and row.size else row,
                model=name,
                normalized=normalize and bool(row.size) and bool(np.any(row)),
                source=meta.source,
                image_size=meta.size,
                roi=meta.roi,
            )
            for row, meta in zip(rows, metas, strict=True)
        ]
