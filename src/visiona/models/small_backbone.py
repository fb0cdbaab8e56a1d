"""The compact from-scratch backbone of visiona's small detectors (imports torch)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional


def _stage(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU layers, the first with stride 2."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallBackbone(nn.Module):
    """Four conv stages and a two-level feature pyramid.

    ``(N, 3, H, W)`` → ``{"0": (N, width, H/8, W/8), "1": (N, width, H/16, W/16)}``; level ``"0"``
    adds the upsampled coarse level (top-down path) before a 3x3 smoothing conv.

    Args:
        width: Channels of the last stages and of both outputs (``out_channels``).
    """

    def __init__(self, width: int = 96) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _stage(3, width // 4),  # stride 2
            _stage(width // 4, width // 2),  # 4
            _stage(width // 2, width),  # 8
        )
        self.down = _stage(width, width)  # 16
        self.lateral = nn.Conv2d(width, width, 1)
        self.smooth = nn.Conv2d(width, width, 3, padding=1)
        self.out_channels = width

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        fine = self.body(images)
        coarse = self.down(fine)
        top_down = functional.interpolate(coarse, size=fine.shape[-2:], mode="nearest")
        return OrderedDict([("0", self.smooth(self.lateral(fine) + top_down)), ("1", coarse)])
