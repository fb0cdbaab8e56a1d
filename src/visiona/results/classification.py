"""Classification: the top-k classes of one image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import ImageDraw

from visiona.results.base import Result, as_array, register_result
from visiona.results.draw import draw_label_block, like_input, to_pil


@register_result
@dataclass(frozen=True)
class Classification(Result):
    """Top-k classes of one image, most probable first.

    Attributes:
        class_ids: ``(k,)`` int64 class indices, by decreasing probability.
        probabilities: ``(k,)`` float32 probabilities in [0, 1].
        labels: ``k`` class names matching ``class_ids``.
        source: Where the image came from (file path or a description), if known.
        image_size: ``(width, height)`` of the original image, if known.
        roi: ``(x0, y0, x1, y1)`` pixel box that was classified, when only part of the image was.
    """

    class_ids: np.ndarray
    probabilities: np.ndarray
    labels: tuple[str, ...]
    source: str | None = None
    image_size: tuple[int, int] | None = None
    roi: tuple[int, int, int, int] | None = None
    task: ClassVar[str] = "classify"

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_ids", as_array(self.class_ids, np.int64))
        object.__setattr__(self, "probabilities", as_array(self.probabilities, np.float32))
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        k = len(self.class_ids)
        if (
            self.class_ids.shape != (k,)
            or self.probabilities.shape != (k,)
            or len(self.labels) != k
        ):
            raise ValueError(
                "Classification arrays disagree: "
                f"class_ids {self.class_ids.shape}, probabilities {self.probabilities.shape}, "
                f"{len(self.labels)} labels"
            )
        if k and (self.probabilities.min() < 0 or self.probabilities.max() > 1 + 1e-5):
            raise ValueError("Classification probabilities must lie in [0, 1]")
        if k > 1 and np.any(np.diff(self.probabilities) > 1e-6):
            raise ValueError("Classification entries must be sorted by decreasing probability")

    @classmethod
    def from_probabilities(
        cls,
        probabilities: Sequence[float] | np.ndarray,
        class_names: Sequence[str],
        top_k: int = 5,
        **kwargs: Any,
    ) -> Classification:
        """Keep the ``top_k`` most probable of a full ``(C,)`` probability vector."""
        probs = np.asarray(probabilities, dtype=np.float32).reshape(-1)
        if len(class_names) != len(probs):
            raise ValueError(f"{len(probs)} probabilities but {len(class_names)} class names")
        k = max(0, min(int(top_k), len(probs)))
        order = np.argsort(-probs, kind="stable")[:k]
        return cls(
            class_ids=order,
            probabilities=probs[order],
            labels=tuple(class_names[i] for i in order),
            **kwargs,
        )

    @property
    def top1(self) -> tuple[str, float]:
        """``(label, probability)`` of the most probable class."""
        if not len(self.labels):
            raise ValueError("empty Classification has no top-1 class")
        return self.labels[0], float(self.probabilities[0])

    def __len__(self) -> int:
        return len(self.class_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "image_size": list(self.image_size) if self.image_size else None,
            "roi": list(self.roi) if self.roi else None,
            "top": [
                {"rank": rank, "class_id": int(cid), "label": label, "probability": float(p)}
                for rank, (cid, label, p) in enumerate(
                    zip(self.class_ids, self.labels, self.probabilities, strict=True), start=1
                )
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        top = sorted(data.get("top", []), key=lambda item: item["rank"])
        image_size = data.get("image_size")
        roi = data.get("roi")
        return cls(
            class_ids=[item["class_id"] for item in top],
            probabilities=[item["probability"] for item in top],
            labels=tuple(item["label"] for item in top),
            source=data.get("source"),
            image_size=tuple(image_size) if image_size else None,
            roi=tuple(roi) if roi else None,
        )

    def numpy(self) -> dict[str, np.ndarray]:
        return {"class_ids": self.class_ids, "probabilities": self.probabilities}

    def draw(self, image: Any, max_lines: int = 3) -> Any:
        """Write the top classes in the corner (and outline the ROI, if any) on a copy of ``image``."""
        canvas = to_pil(image)
        if self.roi:
            width = max(2, min(canvas.size) // 150)
            ImageDraw.Draw(canvas).rectangle(self.roi, outline=(255, 215, 0), width=width)
        lines = [
            f"{label} {probability:.0%}"
            for label, probability in zip(
                self.labels[:max_lines], self.probabilities[:max_lines], strict=True
            )
        ]
        if lines:
            draw_label_block(canvas, lines)
        return like_input(canvas, image)
