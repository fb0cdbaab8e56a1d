"""Explanation: where a model looked for one prediction (a class-activation heat map)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from visiona.results.base import Result, register_result
from visiona.results.draw import draw_label_block, like_input, to_pil


def heat_colors(heatmap: np.ndarray) -> np.ndarray:
    """``(H, W)`` values in [0, 1] → ``(H, W, 3)`` uint8 RGB with matplotlib's ``jet`` map."""
    from matplotlib import colormaps

    return (colormaps["jet"](np.clip(heatmap, 0, 1))[..., :3] * 255).astype(np.uint8)


@register_result
@dataclass(frozen=True)
class Explanation(Result):
    """A heat map of how much each pixel of the original image drove one prediction.

    Attributes:
        heatmap: ``(H, W)`` float32 in [0, 1] at the original image's resolution (0 outside the
            region the network saw, e.g. the borders a centre crop cut off).
        target: Class id (or box index for detectors) the map explains.
        target_name: Its name.
        score: The model's score for the target (probability for classifiers), if known.
        method: CAM method (``gradcam``, ``eigencam``...).
        layer: Name of the layer whose activations were used.
        model: Model that was explained.
        source: Where the image came from, if known.
    """

    heatmap: np.ndarray
    target: int
    target_name: str
    score: float | None = None
    method: str = "gradcam"
    layer: str = ""
    model: str = ""
    source: str | None = None
    task: ClassVar[str] = "explain"

    def __post_init__(self) -> None:
        heatmap = np.ascontiguousarray(np.asarray(self.heatmap, dtype=np.float32))
        if heatmap.ndim != 2 or heatmap.size == 0:
            raise ValueError(f"heatmap must be a non-empty (H, W) array, got {heatmap.shape}")
        if np.isnan(heatmap).any() or heatmap.min() < 0 or heatmap.max() > 1 + 1e-6:
            raise ValueError("heatmap values must lie in [0, 1]")
        object.__setattr__(self, "heatmap", np.minimum(heatmap, 1.0))

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the original image."""
        return (self.heatmap.shape[1], self.heatmap.shape[0])

    @property
    def peak(self) -> tuple[int, int]:
        """``(x, y)`` pixel where the heat map is highest."""
        y, x = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return int(x), int(y)

    def heatmap_png(self) -> bytes:
        """The heat map as an 8-bit grayscale PNG (255 = most important)."""
        buffer = io.BytesIO()
        Image.fromarray((self.heatmap * 255).round().astype(np.uint8), "L").save(buffer, "PNG")
        return buffer.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "target_name": self.target_name,
            "score": self.score,
            "method": self.method,
            "layer": self.layer,
            "model": self.model,
            "source": self.source,
            "image_size": list(self.image_size),
            "peak": list(self.peak),
            "heatmap_png": base64.b64encode(self.heatmap_png()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        png = base64.b64decode(data["heatmap_png"])
        heatmap = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32) / 255
        return cls(
            heatmap=heatmap,
            target=int(data["target"]),
            target_name=str(data["target_name"]),
            score=None if data.get("score") is None else float(data["score"]),
            method=str(data.get("method", "gradcam")),
            layer=str(data.get("layer", "")),
            model=str(data.get("model", "")),
            source=data.get("source"),
        )

    def numpy(self) -> dict[str, np.ndarray]:
        return {"heatmap": self.heatmap}

    def draw(self, image: Any, alpha: float = 0.5) -> Any:
        """``image`` blended with the heat map in ``jet`` colours, and a label with the target.

        Args:
            image: The original image (PIL or ``(H, W, 3)`` uint8); it is not modified.
            alpha: Weight of the heat map's colours in the blend.
        """
        base = to_pil(image)
        if base.size != self.image_size:
            raise ValueError(f"image is {base.size}, the heat map {self.image_size}")
        colors = heat_colors(self.heatmap).astype(np.float32)
        blended = (1 - alpha) * np.asarray(base, dtype=np.float32) + alpha * colors
        out = Image.fromarray(blended.round().clip(0, 255).astype(np.uint8))
        score = f" {self.score:.2f}" if self.score is not None else ""
        draw_label_block(out, [f"{self.method}: {self.target_name}{score}"])
        return like_input(out, image)
