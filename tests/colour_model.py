"""A hand-wired colour classifier and its data, shared by the evaluation tests.

The ``test_classifier`` network is set so that the logit of class c is 4 · mean of the normalised
channel c (+1): it predicts red/green/blue images perfectly and an orange image as red, so test
expectations are exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from visiona.models.load import load_model
from visiona.models.tiny import TINY_PREPROCESSING
from visiona.weights.checkpoint import save_checkpoint
from visiona.weights.record import Weights

CLASSES = ("red", "green", "blue")  # deliberately not alphabetical
RGB = {"red": (250, 10, 10), "green": (10, 250, 10), "blue": (10, 10, 250)}
ORANGE = (250, 60, 10)  # predicted red, with green clearly second


def write_image(path: Path, rgb: tuple[int, int, int], seed: int) -> Path:
    """A 32×32 PNG of one colour with slight noise, mirror-symmetric left to right."""
    rng = np.random.default_rng(seed)
    half = np.clip(np.array(rgb) + rng.integers(-8, 9, (32, 16, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([half, half[:, ::-1]], axis=1)).save(path)
    return path


def make_colours(root: Path, per_class: int = 4, mislabelled: bool = True) -> Path:
    """``root/{red,green,blue}/*.png``; plus an orange (red-looking) image filed under green."""
    for index, name in enumerate(CLASSES):
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", RGB[name], seed=100 * index + i)
    if mislabelled:
        write_image(root / "green" / "zz_wrong.png", ORANGE, seed=999)
    return root


def colour_module(num_classes: int):
    """test_classifier wired by hand: logit_c = 4 · mean(normalised channel c + 1), c < 3."""
    import torch

    module = load_model("test_classifier", pretrained=False, num_classes=num_classes).module
    conv1, conv2, linear = module[0], module[3], module[7]
    with torch.no_grad():
        for layer in (conv1, conv2, linear):
            layer.weight.zero_()
            layer.bias.zero_()
        for c in range(3):
            conv1.weight[c, c, 1, 1] = 1.0
            conv1.bias[c] = 1.0
            conv2.weight[c, c, 1, 1] = 1.0
            if c < num_classes:
                linear.weight[c, c] = 4.0
    return module


def colour_record(classes: tuple[str, ...] = CLASSES) -> Weights:
    return Weights(
        model="test_classifier",
        tag="colours",
        task="classify",
        preprocessing=TINY_PREPROCESSING,
        class_names=classes,
    )


def colour_checkpoint(path: Path, classes: tuple[str, ...] = CLASSES) -> Path:
    return save_checkpoint(
        path, colour_module(len(classes)), "test_classifier", colour_record(classes)
    )
