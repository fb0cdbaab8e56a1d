"""PyTorch datasets for segmentation training: random crops from a few large images.

:class:`CropDataset` makes an epoch of ``crops_per_epoch`` samples, each a random ``crop`` ×
``crop`` window of one of the training images (chosen in turn), augmented with torchvision
transforms v2: the mask is a ``tv_tensors.Mask``, so every geometric transform moves it with
the image (nearest-neighbour, padding with the ignore index) and colour transforms leave it
alone. Four labelled 512² images thus give thousands of different training samples.
:class:`WholeImageDataset` gives validation images whole, at their own size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset

from visiona.results.segmentation import IGNORE_INDEX

if TYPE_CHECKING:
    from visiona.data.segmentation.dataset import SegmentationDataset, SegSample
    from visiona.weights.record import Preprocessing

AUGMENT_PRESETS = ("none", "light", "strong")


def load_pair(dataset: SegmentationDataset, sample: SegSample) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W, 3)`` uint8 image and ``(H, W)`` uint8 ids of a checked sample."""
    from visiona.io.images import load_image

    image = load_image(sample.image).array
    ids, _ = dataset.read_mask(sample)
    return image, ids


def segmentation_train_transform(crop: int, augment: str = "light", hflip: bool = True) -> Any:
    """v2 pipeline on ``(tv_tensors.Image uint8, tv_tensors.Mask)`` → a ``crop``² window."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    fill = {tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX}
    steps: list[Any] = []
    if augment == "strong":
        steps.append(
            v2.RandomAffine(degrees=20, scale=(0.7, 1.3), shear=5, fill=fill)  # type: ignore[arg-type]
        )
    steps.append(v2.RandomCrop(crop, pad_if_needed=True, fill=fill))  # type: ignore[arg-type]
    if augment != "none":
        if hflip:
            steps.append(v2.RandomHorizontalFlip())
        steps.append(v2.ColorJitter(0.25, 0.25, 0.2, 0.02))
    if augment == "strong":
        steps += [v2.RandomVerticalFlip(), v2.RandomGrayscale(0.1)]
    return v2.Compose(steps)


class CropDataset(Dataset):
    """``crops_per_epoch`` random crops per epoch (see the module docs).

    Items: ``(3, crop, crop)`` float32 normalised image, ``(crop, crop)`` int64 ids.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[np.ndarray, np.ndarray]],
        preprocessing: Preprocessing,
        crop: int,
        crops_per_epoch: int,
        augment: str = "light",
        hflip: bool = True,
    ) -> None:
        from torchvision import tv_tensors

        self.images = [
            tv_tensors.Image(torch.from_numpy(np.array(img)).permute(2, 0, 1)) for img, _ in pairs
        ]
        self.masks = [tv_tensors.Mask(torch.from_numpy(np.array(ids))) for _, ids in pairs]
        self.preprocessing = preprocessing
        self.length = crops_per_epoch
        self.transform = segmentation_train_transform(crop, augment, hflip)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from visiona.ops.preprocess import normalize

        which = index % len(self.images)
        image, mask = self.transform(self.images[which], self.masks[which])
        return normalize(image.as_subclass(torch.Tensor), self.preprocessing), mask.as_subclass(
            torch.Tensor
        ).long()


class WholeImageDataset(Dataset):
    """Whole images at their own size: ``(3, H, W)`` normalised float32, ``(H, W)`` int64 ids."""

    def __init__(
        self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], preprocessing: Preprocessing
    ) -> None:
        self.pairs = pairs
        self.preprocessing = preprocessing

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from visiona.ops.preprocess import normalize

        image, ids = self.pairs[index]
        pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        return normalize(pixels, self.preprocessing), torch.from_numpy(np.array(ids)).long()


def list_collate(batch: list[Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Keep images of different sizes as lists."""
    images, masks = zip(*batch, strict=True)
    return list(images), list(masks)


def class_pixel_counts(pairs: Sequence[tuple[np.ndarray, np.ndarray]], count: int) -> np.ndarray:
    totals = np.zeros(256, np.int64)
    for _, ids in pairs:
        totals += np.bincount(ids.reshape(-1), minlength=256)
    return totals[:count]


def class_weights(spec: str | None, pairs, count: int) -> list[float] | None:
    """``auto`` (inverse square root of pixel frequency, mean 1) or ``w0,w1,...``; None: equal."""
    from visiona.errors import UsageError

    if spec in (None, "", "none"):
        return None
    if spec == "auto":
        pixels = class_pixel_counts(pairs, count).astype(np.float64)
        weights = 1.0 / np.sqrt(np.maximum(pixels, 1.0) / max(pixels.sum(), 1.0))
        return (weights / weights.mean()).round(4).tolist()
    try:
        values = [float(v) for v in str(spec).split(",")]
    except ValueError:
        raise UsageError(f"--class-weights {spec!r}: use auto or one number per class") from None
    if len(values) != count or min(values) < 0:
        raise UsageError(f"--class-weights needs {count} non-negative numbers, got {spec!r}")
    return values
