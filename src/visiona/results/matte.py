"""Matte: a soft person mask (alpha) for background removal, with cut-out and replacement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from visiona.results.base import Result, register_result
from visiona.results.detections import mask_to_rle, rle_to_mask
from visiona.results.draw import like_input, to_pil


@register_result
@dataclass(frozen=True)
class Matte(Result):
    """Foreground (person) probability per pixel of one image.

    Attributes:
        alpha: ``(H, W)`` float32 in [0, 1] at the original image's resolution.
        threshold: Alpha above which a pixel counts as foreground in :attr:`mask`.
        model: Model that produced the matte.
        source: Where the image came from, if known.
    """

    alpha: np.ndarray
    threshold: float = 0.5
    model: str = ""
    source: str | None = None
    task: ClassVar[str] = "matting"

    def __post_init__(self) -> None:
        alpha = np.ascontiguousarray(np.asarray(self.alpha, dtype=np.float32))
        if alpha.ndim != 2:
            raise ValueError(f"alpha must be (H, W), got {alpha.shape}")
        if alpha.size and (np.nanmin(alpha) < 0 or np.nanmax(alpha) > 1 or np.isnan(alpha).any()):
            raise ValueError("alpha values must lie in [0, 1]")
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        object.__setattr__(self, "alpha", alpha)

    @property
    def mask(self) -> np.ndarray:
        """``(H, W)`` bool foreground mask (``alpha > threshold``)."""
        return self.alpha > self.threshold

    @property
    def coverage(self) -> float:
        """Fraction of the image that is foreground."""
        return float(self.mask.mean()) if self.alpha.size else 0.0

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.alpha.shape[1], self.alpha.shape[0])

    def alpha_image(self) -> Image.Image:
        """The alpha as an 8-bit grayscale PIL image (255 = foreground)."""
        return Image.fromarray(np.round(self.alpha * 255).astype(np.uint8), mode="L")

    def cutout(self, image: Any) -> Image.Image:
        """``image`` as RGBA with the alpha as its transparency (same size as the image)."""
        rgba = to_pil(image).convert("RGBA")
        self._check_size(rgba)
        rgba.putalpha(self.alpha_image())
        return rgba

    def replace_background(self, image: Any, background: Any = (0, 177, 64)) -> Any:
        """Blend ``image`` over a new background: an RGB colour tuple or an image (resized).

        Returns:
            The composite in the same kind as ``image`` (PIL image or ``(H, W, 3)`` uint8 array).
        """
        canvas = to_pil(image)
        self._check_size(canvas)
        if isinstance(background, tuple):
            back = np.broadcast_to(np.asarray(background, np.float32), (*self.alpha.shape, 3))
        else:
            back = np.asarray(to_pil(background).resize(canvas.size), np.float32)
        fore = np.asarray(canvas, np.float32)
        weight = self.alpha[..., None]
        blended = np.round(weight * fore + (1 - weight) * back).astype(np.uint8)
        return like_input(Image.fromarray(blended), image)

    def _check_size(self, image: Image.Image) -> None:
        if image.size != self.image_size:
            raise ValueError(f"image is {image.size}, the matte is {self.image_size} (W, H)")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model": self.model,
            "source": self.source,
            "image_size": list(self.image_size),
            "threshold": self.threshold,
            "coverage": round(self.coverage, 6),
            "mask": mask_to_rle(self.mask),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Matte:
        """The binary mask back (the soft alpha is not part of the JSON schema)."""
        mask = rle_to_mask(data["mask"])
        return cls(
            alpha=mask.astype(np.float32),
            threshold=data.get("threshold", 0.5),
            model=data.get("model", ""),
            source=data.get("source"),
        )

    def numpy(self) -> dict[str, np.ndarray]:
        return {"alpha": self.alpha, "mask": self.mask}

    def draw(self, image: Any, tint: tuple[int, int, int] = (0, 130, 200)) -> Any:
        """The background dimmed and tinted, the person left as is, on a copy of ``image``."""
        canvas = to_pil(image)
        self._check_size(canvas)
        fore = np.asarray(canvas, np.float32)
        back = 0.35 * fore + 0.65 * np.asarray(tint, np.float32)
        weight = self.alpha[..., None]
        blended = np.round(weight * fore + (1 - weight) * back).astype(np.uint8)
        return like_input(Image.fromarray(blended), image)
