"""Tiny models for tests and smoke runs: milliseconds on a CPU, random init."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from visiona.models.spec import ModelSpec
from visiona.weights.record import Preprocessing

if TYPE_CHECKING:
    from torch import nn

TINY_PREPROCESSING = Preprocessing(
    input_size=(32, 32), resize="stretch", resize_size=None, mean=(0.5,) * 3, std=(0.5,) * 3
)


def build_tiny_classifier(num_classes: int, weights_file: Path | None) -> nn.Module:
    """Two conv blocks and a linear head: ``(N, 3, H, W)`` → logits ``(N, num_classes)``."""
    from torch import nn

    from visiona.weights.loading import load_state_dict

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, num_classes),
    )
    if weights_file is not None:
        model.load_state_dict(load_state_dict(weights_file))
    return model


SPEC = ModelSpec(
    name="test_classifier",
    task="classify",
    family="visiona",
    build=build_tiny_classifier,
    preprocessing=TINY_PREPROCESSING,
    num_classes=10,
    description="tiny 2-layer CNN for tests (random init, 32 px)",
)
