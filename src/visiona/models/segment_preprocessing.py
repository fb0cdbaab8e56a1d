"""Preprocessing shared by the segmentation models trained with visiona."""

from __future__ import annotations

from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

PREPROCESSING = Preprocessing(
    input_size=(512, 512),
    resize="none",
    resize_size=None,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
)
"""Images keep their size (tiled when large); ``input_size`` is the nominal size that export
traces and ``visiona benchmark`` times."""
