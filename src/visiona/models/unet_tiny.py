"""``unet_tiny``: the U-Net of the textbook diagram, small enough to train on a CPU.

::

    input ─ DoubleConv(3→16) ─────────────────────────────── skip ──┐
              MaxPool ─ DoubleConv(16→32) ─────────────── skip ──┐   │
                          MaxPool ─ DoubleConv(32→64) ── skip ─┐ │   │
                                      MaxPool ─ DoubleConv(64→128)   (bottleneck)
                                                  UpConv ─ cat ┘ ─ DoubleConv(128→64)
                                                        UpConv ─ cat ┘ ─ DoubleConv(64→32)
                                                              UpConv ─ cat ┘ ─ DoubleConv(32→16)
                                                                      1×1 conv → C class logits

Each level halves the resolution and doubles the channels on the way down (the contracting
path) and does the opposite on the way up (the expanding path); the skip connections hand
the fine detail of each level to the decoder. Padding keeps sizes, so the output has the
input's height and width (multiples of ``2**depth``).

Options (``--arch-opt``): ``width=16`` (channels of the first level), ``depth=3`` (poolings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.spec import ModelSpec

if TYPE_CHECKING:
    from torch import nn

DEFAULTS = {"width": 16, "depth": 3}


def normalize_options(options: dict[str, Any] | None) -> dict[str, int]:
    merged = dict(DEFAULTS)
    for key, value in (options or {}).items():
        if key not in DEFAULTS:
            raise UsageError(f"unknown unet_tiny option {key!r}; known: width, depth")
        try:
            merged[key] = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"unet_tiny option {key}={value!r} is not an integer") from None
    if not 1 <= merged["depth"] <= 5 or not 1 <= merged["width"] <= 256:
        raise UsageError("unet_tiny options out of range: depth 1-5, width 1-256")
    return merged


def build_unet_tiny(num_classes: int, weights_file: Path | None, **options: Any) -> nn.Module:
    """The U-Net: ``(N, 3, H, W)`` → ``(N, num_classes, H, W)`` logits."""
    import torch
    from torch import nn

    from visiona.weights.loading import load_state_dict

    config = normalize_options(options)

    class DoubleConv(nn.Sequential):
        """(3×3 conv → batch norm → ReLU) twice: the box on every level of the diagram."""

        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__(
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )

    class Down(nn.Sequential):
        """2×2 max pooling (half the resolution), then a DoubleConv (twice the channels)."""

        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    class Up(nn.Module):
        """2×2 transposed conv (twice the resolution), concatenate the skip, DoubleConv."""

        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
            self.conv = DoubleConv(2 * out_channels, out_channels)

        def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
            return self.conv(torch.cat([skip, self.up(x)], dim=1))

    class UNetTiny(nn.Module):
        def __init__(self, width: int, depth: int) -> None:
            super().__init__()
            channels = [width * 2**level for level in range(depth + 1)]  # 16, 32, 64, 128
            self.inc = DoubleConv(3, channels[0])
            self.downs = nn.ModuleList(Down(channels[i], channels[i + 1]) for i in range(depth))
            self.ups = nn.ModuleList(
                Up(channels[i + 1], channels[i]) for i in reversed(range(depth))
            )
            self.head = nn.Conv2d(channels[0], num_classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = [self.inc(x)]  # contracting path: remember every level's features
            for down in self.downs:
                skips.append(down(skips[-1]))
            x = skips.pop()  # the bottleneck
            for up in self.ups:  # expanding path: upsample, join the skip of the same level
                x = up(x, skips.pop())
            return self.head(x)

    model = UNetTiny(config["width"], config["depth"])
    if weights_file is not None:
        model.load_state_dict(load_state_dict(weights_file))
    return model


def _preprocessing(options: dict[str, Any] | None):
    from visiona.models.segment_preprocessing import PREPROCESSING

    normalize_options(options)
    return PREPROCESSING


def _spec() -> ModelSpec:
    from visiona.models.segment_preprocessing import PREPROCESSING

    return ModelSpec(
        name="unet_tiny",
        task="segment",
        family="visiona",
        build=build_unet_tiny,
        preprocessing=PREPROCESSING,
        num_classes=2,
        description="from-scratch U-Net as in the textbook diagram (--arch-opt width=16 depth=3)",
        options_preprocessing=_preprocessing,
    )


SPEC = _spec()
