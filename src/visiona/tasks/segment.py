"""Semantic segmentation: per-pixel class logits → SegmentationMap.

The network is fully convolutional: ``(N, 3, h, w)`` → ``(N, C, h, w)`` logits with ``h, w``
multiples of 32. Images keep their own size (``resize="none"``); each one runs whole (padded to a
multiple of 32) or, when larger than ``tile``, window by window with blended overlaps
(:mod:`visiona.ops.tiling`), so memory does not grow with the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError
from visiona.results.segmentation import IGNORE_INDEX, SegmentationMap
from visiona.tasks.base import ImageMeta, Task

if TYPE_CHECKING:
    import torch

    from visiona.weights.record import Weights

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
_OPTIONS = {"tile", "overlap", "probabilities"}


def _window_options(tile: int, overlap: int) -> None:
    if tile < 0 or (0 < tile < 32):
        raise UsageError(f"--tile must be 0 (whole image) or at least 32, got {tile}")
    if overlap < 0 or (tile and overlap > tile // 2):
        raise UsageError(f"--overlap must be between 0 and half the tile, got {overlap}")


class SegmentTask(Task):
    """Semantic segmentation: one class per pixel."""

    name = "segment"
    result_type = SegmentationMap
    batched_input = False  # images of different sizes; the network itself takes batches
    spatial_output = True  # ONNX: dynamic height and width in and out

    def check_options(self, weights: Weights, **options: Any) -> None:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise UsageError(f"segment does not take option(s): {', '.join(sorted(unknown))}")
        _window_options(
            int(options.get("tile", DEFAULT_TILE)), int(options.get("overlap", DEFAULT_OVERLAP))
        )

    def run_backend(
        self,
        backend: Any,
        images: Sequence[torch.Tensor],
        *,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        **_: Any,
    ) -> list[torch.Tensor]:
        """Each ``(3, H_i, W_i)`` image → ``(C, H_i, W_i)`` probabilities, tiled when large."""
        from visiona.ops.tiling import sliding_window

        _window_options(tile, overlap)
        return [sliding_window(image, backend, tile=tile, overlap=overlap) for image in images]

    def postprocess(
        self,
        outputs: Sequence[torch.Tensor],
        metas: Sequence[ImageMeta],
        weights: Weights,
        *,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        probabilities: bool | None = None,
        **options: Any,
    ) -> list[SegmentationMap]:
        """``(C, h, w)`` probabilities per image → SegmentationMap at the original size.

        The probabilities cover the image (or its region of interest) as fed to the network;
        they are resized back when the preprocessing resized the image, and pixels outside a
        region of interest get :data:`IGNORE_INDEX`.
        """
        import torch
        from torch.nn import functional as F

        if options:
            raise UsageError(f"segment does not take option(s): {', '.join(sorted(options))}")
        names = weights.class_names
        results = []
        for probs, meta in zip(outputs, metas, strict=True):
            if probs.ndim == 4:  # a plain (N=1, C, h, w) batch from a caller that did not tile
                probs = probs[0]
            if probs.shape[0] != len(names):
                raise ValueError(
                    f"model outputs {probs.shape[0]} classes but its record names {len(names)}"
                )
            width, height = meta.size
            x0, y0, x1, y1 = meta.roi or (0, 0, width, height)
            if tuple(probs.shape[-2:]) != (y1 - y0, x1 - x0):
                probs = F.interpolate(
                    probs[None].float(), size=(y1 - y0, x1 - x0), mode="bilinear",
                    align_corners=False,
                )[0]  # fmt: skip
            class_map = np.full((height, width), IGNORE_INDEX, np.uint8)
            class_map[y0:y1, x0:x1] = probs.argmax(0).to(torch.uint8).numpy()
            full = None
            if probabilities:
                full = np.zeros((len(names), height, width), np.float32)
                full[:, y0:y1, x0:x1] = probs.float().numpy()
            results.append(
                SegmentationMap(
                    class_map=class_map,
                    names=names,
                    colors=weights.class_colors,
                    probabilities=full,
                    model=weights.full_name,
                    source=meta.source,
                )
            )
        return results
