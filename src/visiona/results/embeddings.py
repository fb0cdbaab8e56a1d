"""Embeddings: one image as a vector, for similarity search, light classifiers and maps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from visiona.results.base import Result, as_array, register_result
from visiona.results.draw import draw_label_block, like_input, to_pil


@register_result
@dataclass(frozen=True)
class Embeddings(Result):
    """The embedding vector of one image.

    Attributes:
        vector: ``(D,)`` float32 vector; ``(0,)`` when the model found nothing to embed (a face
            embedder on an image without a face).
        model: Name of the embedder that made it; vectors of different models do not compare.
        normalized: Whether the vector has unit L2 norm (cosine similarity = dot product).
        source: Where the image came from, if known.
        image_size: ``(width, height)`` of the original image, if known.
        roi: ``(x0, y0, x1, y1)`` of the part embedded, if not the whole image.
    """

    vector: np.ndarray
    model: str
    normalized: bool = True
    source: str | None = None
    image_size: tuple[int, int] | None = None
    roi: tuple[int, int, int, int] | None = None
    task: ClassVar[str] = "embed"

    def __post_init__(self) -> None:
        vector = as_array(self.vector, np.float32).reshape(-1)
        object.__setattr__(self, "vector", vector)
        if not np.all(np.isfinite(vector)):
            raise ValueError("Embeddings vector holds NaN or infinite values")
        if self.normalized and vector.size and abs(float(np.linalg.norm(vector)) - 1) > 1e-3:
            raise ValueError("Embeddings marked normalized must have unit L2 norm")

    @property
    def dimension(self) -> int:
        """Length ``D`` of the vector."""
        return int(self.vector.size)

    @property
    def empty(self) -> bool:
        """True when nothing was embedded (no face found)."""
        return self.vector.size == 0

    def __len__(self) -> int:
        return self.dimension

    def similarity(self, other: Embeddings) -> float:
        """Cosine similarity with another embedding of the same model."""
        if other.model != self.model or other.dimension != self.dimension:
            raise ValueError(
                f"cannot compare {self.model} ({self.dimension}-d) with "
                f"{other.model} ({other.dimension}-d) embeddings"
            )
        norms = float(np.linalg.norm(self.vector) * np.linalg.norm(other.vector)) or 1.0
        return float(self.vector @ other.vector) / norms

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "image_size": list(self.image_size) if self.image_size else None,
            "roi": list(self.roi) if self.roi else None,
            "model": self.model,
            "dimension": self.dimension,
            "normalized": self.normalized,
            "vector": [float(value) for value in self.vector],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Embeddings:
        image_size = data.get("image_size")
        roi = data.get("roi")
        return cls(
            vector=np.asarray(data.get("vector", []), dtype=np.float32),
            model=str(data["model"]),
            normalized=bool(data.get("normalized", True)),
            source=data.get("source"),
            image_size=tuple(image_size) if image_size else None,
            roi=tuple(roi) if roi else None,
        )

    def numpy(self) -> dict[str, np.ndarray]:
        return {"vector": self.vector}

    def draw(self, image: Any) -> Any:
        """A copy of ``image`` with the vector drawn as a strip of coloured cells at the bottom."""
        canvas = to_pil(image)
        width, height = canvas.size
        if self.dimension:
            cells = min(self.dimension, 128)
            values = self.vector[:cells]
            scale = float(np.abs(values).max()) or 1.0
            strip_height = max(4, height // 20)
            row = np.zeros((1, cells, 3), np.uint8)
            row[0, :, 0] = np.clip(values / scale, 0, 1) * 255
            row[0, :, 2] = np.clip(-values / scale, 0, 1) * 255
            from PIL import Image

            strip = Image.fromarray(row).resize((width, strip_height), Image.Resampling.NEAREST)
            canvas.paste(strip, (0, height - strip_height))
        text = f"{self.model}: {self.dimension}-d" if self.dimension else f"{self.model}: nothing"
        draw_label_block(canvas, [text])
        return like_input(canvas, image)
