"""Training and evaluation transforms built from a Preprocessing record plus augmentation presets.

Everything runs on ``(3, H, W)`` uint8 tensors with torchvision transforms v2 until the final
float conversion, so evaluation here equals :func:`visiona.ops.preprocess.to_tensor`.

Presets:
    none:   the evaluation resize only.
    light:  random resized crop (scale 0.8-1), horizontal flip, rotation ±10°.
    strong: random resized crop (scale 0.35-1), horizontal flip, rotation ±15°, colour jitter,
            RandAugment (2 ops, magnitude 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from visiona.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torchvision.transforms import v2

    from visiona.weights.record import Preprocessing

AugmentPreset = Literal["none", "light", "strong"]
PRESETS: tuple[str, ...] = ("none", "light", "strong")


def _interpolation(preprocessing: Preprocessing):
    from torchvision.transforms import InterpolationMode

    return InterpolationMode(preprocessing.interpolation)


def _resize(preprocessing: Preprocessing) -> list[v2.Transform]:
    from torchvision.transforms import v2

    interpolation = _interpolation(preprocessing)
    if preprocessing.resize == "stretch":
        return [v2.Resize(list(preprocessing.input_size), interpolation, antialias=True)]
    return [
        v2.Resize(preprocessing.resize_size, interpolation, antialias=True),
        v2.CenterCrop(list(preprocessing.input_size)),
    ]


def _to_float(preprocessing: Preprocessing) -> list[v2.Transform]:
    import torch
    from torchvision.transforms import v2

    steps: list[v2.Transform] = [
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(preprocessing.mean), list(preprocessing.std)),
    ]
    if preprocessing.color_order == "BGR":
        steps.append(v2.Lambda(lambda t: t.flip(-3)))
    return steps


def eval_transform(preprocessing: Preprocessing) -> v2.Compose:
    """uint8 ``(3, H, W)`` → normalised float ``(3, h, w)``, as at prediction time."""
    from torchvision.transforms import v2

    return v2.Compose([*_resize(preprocessing), *_to_float(preprocessing)])


def augmentation_steps(
    preset: str, preprocessing: Preprocessing, hflip: bool = True
) -> list[v2.Transform]:
    """The uint8 → uint8 augmentation steps of ``preset`` ending at the network's input size.

    ``hflip=False`` drops the mirror flip, for data where left and right differ (digits, text).
    """
    from torchvision.transforms import v2

    if preset not in PRESETS:
        raise UsageError(f"unknown augmentation preset {preset!r}; use one of {', '.join(PRESETS)}")
    if preset == "none":
        return _resize(preprocessing)
    size = list(preprocessing.input_size)
    interpolation = _interpolation(preprocessing)
    flip = [v2.RandomHorizontalFlip()] if hflip else []
    if preset == "light":
        return [
            v2.RandomResizedCrop(
                size, scale=(0.8, 1.0), interpolation=interpolation, antialias=True
            ),
            *flip,
            v2.RandomRotation(10, interpolation=interpolation),
        ]
    return [
        v2.RandomResizedCrop(size, scale=(0.35, 1.0), interpolation=interpolation, antialias=True),
        *flip,
        v2.RandomRotation(15, interpolation=interpolation),
        v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
        v2.RandAugment(num_ops=2, magnitude=9, interpolation=interpolation),
    ]


def train_transform(
    preprocessing: Preprocessing, preset: str = "light", hflip: bool = True
) -> v2.Compose:
    """Augmented uint8 ``(3, H, W)`` → normalised float ``(3, h, w)`` for training."""
    from torchvision.transforms import v2

    steps = augmentation_steps(preset, preprocessing, hflip)
    return v2.Compose([*steps, *_to_float(preprocessing)])


def batch_mixer(num_classes: int, mixup: float = 0.0, cutmix: float = 0.0):
    """A callable ``(images, labels) -> (images, soft_labels)`` or ``None`` when both are off.

    Args:
        num_classes: Classes of the soft labels.
        mixup: MixUp Beta(alpha, alpha) parameter; 0 disables it.
        cutmix: CutMix alpha; 0 disables it. With both on, one is picked per batch.
    """
    from torchvision.transforms import v2

    if mixup < 0 or cutmix < 0:
        raise UsageError("--mixup and --cutmix take a non-negative alpha (e.g. 0.2 or 1.0)")
    choices = []
    if mixup > 0:
        choices.append(v2.MixUp(alpha=mixup, num_classes=num_classes))
    if cutmix > 0:
        choices.append(v2.CutMix(alpha=cutmix, num_classes=num_classes))
    if not choices:
        return None
    return choices[0] if len(choices) == 1 else v2.RandomChoice(choices)


def hflip_tta(images: torch.Tensor) -> torch.Tensor:
    """Test-time augmentation views: ``(N, 3, H, W)`` → ``(2N, 3, H, W)`` (original, mirrored)."""
    import torch

    return torch.cat([images, images.flip(-1)])
