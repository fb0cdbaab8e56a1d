"""Sliding-window (tiled) inference for dense predictions, with overlap blending.

A fully convolutional network can take any image whose sides are multiples of its output stride
(32 for U-Nets and FPNs); a 4000×3000 photo at once, though, needs gigabytes of activations.
:func:`sliding_window` cuts the image into ``tile``-sized windows that overlap by ``overlap``
pixels, runs the network on batches of windows and blends the class probabilities of the
overlapping windows with weights that fall linearly to the window borders, so no seam shows.
Memory then depends on the tile size, not on the image size (plus the ``(C, H, W)`` result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

STRIDE = 32
"""Sides of every network input are padded to a multiple of this (U-Net/FPN output stride)."""

Runner = Callable[["torch.Tensor"], "torch.Tensor"]
"""``(N, 3, h, w)`` input → ``(N, C, h, w)`` logits."""


def round_up(value: int, multiple: int = STRIDE) -> int:
    return -(-value // multiple) * multiple


def window_starts(length: int, window: int, overlap: int) -> list[int]:
    """Start offsets of windows of size ``window`` covering ``length`` with at least ``overlap``
    pixels shared by neighbours; the last window ends exactly at ``length`` (``length >= window``)."""
    if length <= window:
        return [0]
    step = max(1, window - overlap)
    starts = list(range(0, length - window, step))
    return [*starts, length - window]


def blend_weights(height: int, width: int, overlap: int) -> torch.Tensor:
    """``(height, width)`` float32 weights rising linearly over ``overlap`` pixels from each
    border (never zero), so overlapping windows cross-fade."""
    import torch

    def ramp(size: int) -> torch.Tensor:
        if overlap <= 0:
            return torch.ones(size)
        position = torch.arange(size, dtype=torch.float32) + 0.5
        edge = torch.minimum(position, size - position) / overlap
        return edge.clamp(min=1e-3, max=1.0)

    return ramp(height)[:, None] * ramp(width)[None, :]


def _pad(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(3, H, W)`` padded at the bottom/right to ``(3, height, width)`` by edge replication."""
    import torch
    from torch.nn import functional as F

    pad_h, pad_w = height - image.shape[-2], width - image.shape[-1]
    if pad_h == 0 and pad_w == 0:
        return image
    padded = F.pad(image[None].float(), (0, pad_w, 0, pad_h), mode="replicate")[0]
    return padded.to(torch.uint8) if image.dtype == torch.uint8 else padded


def run_padded(image: torch.Tensor, run: Runner, multiple: int = STRIDE) -> torch.Tensor:
    """Logits of the whole ``(3, H, W)`` image in one pass (padded to ``multiple``, cropped
    back): ``(C, H, W)`` float32."""
    height, width = image.shape[-2:]
    padded = _pad(image, round_up(height, multiple), round_up(width, multiple))
    return run(padded[None])[0, :, :height, :width].float()


def sliding_window(
    image: torch.Tensor,
    run: Runner,
    *,
    tile: int = 512,
    overlap: int = 64,
    batch_size: int = 4,
    multiple: int = STRIDE,
) -> torch.Tensor:
    """Class probabilities of a ``(3, H, W)`` image, computed window by window.

    Args:
        image: ``(3, H, W)`` input (normalised float, or uint8 pixels for a backend that
            normalises itself).
        run: The network: ``(N, 3, h, w)`` → ``(N, C, h, w)`` logits.
        tile: Window side (rounded up to ``multiple``); ``0`` runs the whole image at once.
            Images no larger than one window also run at once.
        overlap: Pixels neighbouring windows share (blended); at most half a window.
        batch_size: Windows per forward pass.
        multiple: The network's stride; window sides are multiples of it.

    Returns:
        ``(C, H, W)`` float32 softmax probabilities.
    """
    import torch

    height, width = int(image.shape[-2]), int(image.shape[-1])
    if tile <= 0 or (height <= tile and width <= tile):
        return run_padded(image, run, multiple).softmax(0)
    tile = round_up(tile, multiple)
    overlap = max(0, min(overlap, tile // 2))
    win_h, win_w = min(tile, round_up(height, multiple)), min(tile, round_up(width, multiple))
    image = _pad(image, max(height, win_h), max(width, win_w))
    full_h, full_w = int(image.shape[-2]), int(image.shape[-1])
    boxes = [
        (y, x)
        for y in window_starts(full_h, win_h, overlap)
        for x in window_starts(full_w, win_w, overlap)
    ]
    weights = blend_weights(win_h, win_w, overlap)
    total: torch.Tensor | None = None
    norm = torch.zeros(full_h, full_w)
    for start in range(0, len(boxes), batch_size):
        chunk = boxes[start : start + batch_size]
        windows = torch.stack([image[:, y : y + win_h, x : x + win_w] for y, x in chunk])
        probabilities = run(windows).float().softmax(1)
        if total is None:
            total = torch.zeros(probabilities.shape[1], full_h, full_w)
        for (y, x), probs in zip(chunk, probabilities, strict=True):
            total[:, y : y + win_h, x : x + win_w] += probs * weights
            norm[y : y + win_h, x : x + win_w] += weights
    assert total is not None
    return total.div_(norm)[:, :height, :width]  # in place: no second (C, H, W) copy
