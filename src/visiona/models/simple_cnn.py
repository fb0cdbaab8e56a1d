"""The course's from-scratch CNN: N conv-ReLU-maxpool blocks, then 1-2 dense layers.

``cnn`` in the catalogue; its shape is set by architecture options, stored in checkpoints:

    blocks=3 width=32 dense=128 dropout=0.3 batch_norm=true image_size=32 channels_growth=2

Block ``i`` has ``width * channels_growth**i`` filters of 3×3, optional batch norm, ReLU and 2×2
max pooling; the feature map is flattened into the dense layers (with dropout) and a linear head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.spec import ModelSpec
from visiona.weights.record import Preprocessing

if TYPE_CHECKING:
    from torch import nn

DEFAULT_OPTIONS: dict[str, Any] = {
    "blocks": 3,
    "width": 32,
    "channels_growth": 2,
    "dense": (128,),
    "dropout": 0.3,
    "batch_norm": True,
    "image_size": 32,
}


def normalize_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check types/ranges; raises UsageError naming the bad option."""
    merged = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in DEFAULT_OPTIONS:
            raise UsageError(
                f"unknown cnn option {key!r}; known: {', '.join(DEFAULT_OPTIONS)}",
                hint="e.g. --arch-opt blocks=4 --arch-opt dense=256,128",
            )
        merged[key] = value
    try:
        merged["blocks"] = int(merged["blocks"])
        merged["width"] = int(merged["width"])
        merged["channels_growth"] = int(merged["channels_growth"])
        dense = merged["dense"]
        if isinstance(dense, str):
            dense = [d for d in dense.split(",") if d.strip()]
        elif isinstance(dense, int):
            dense = [dense]
        merged["dense"] = tuple(int(d) for d in dense)
        merged["dropout"] = float(merged["dropout"])
        batch_norm = merged["batch_norm"]
        if isinstance(batch_norm, str):
            batch_norm = batch_norm.strip().lower() in {"1", "true", "yes", "on"}
        merged["batch_norm"] = bool(batch_norm)
        merged["image_size"] = int(merged["image_size"])
    except (TypeError, ValueError) as error:
        raise UsageError(f"invalid cnn option value: {error}") from None
    if not 1 <= merged["blocks"] <= 8 or merged["width"] < 1 or not 0 <= merged["dropout"] < 1:
        raise UsageError("cnn options out of range: blocks 1-8, width >= 1, dropout in [0, 1)")
    if len(merged["dense"]) > 2 or any(d < 1 for d in merged["dense"]):
        raise UsageError("cnn takes 0-2 dense layers of positive size, e.g. dense=256,128")
    if merged["image_size"] < 2 ** merged["blocks"]:
        raise UsageError(
            f"image_size {merged['image_size']} is too small for {merged['blocks']} pooling blocks"
        )
    return merged


def build_simple_cnn(num_classes: int, weights_file: Path | None, **options: Any) -> nn.Module:
    """Build the CNN: input ``(N, 3, S, S)`` with S = image_size → logits ``(N, num_classes)``."""
    from torch import nn

    from visiona.weights.loading import load_state_dict

    config = normalize_options(options)
    layers: list[nn.Module] = []
    channels, size = 3, config["image_size"]
    for index in range(config["blocks"]):
        out_channels = config["width"] * config["channels_growth"] ** index
        layers.append(
            nn.Conv2d(channels, out_channels, 3, padding=1, bias=not config["batch_norm"])
        )
        if config["batch_norm"]:
            layers.append(nn.BatchNorm2d(out_channels))
        layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        channels, size = out_channels, size // 2
    layers.append(nn.Flatten())
    features = channels * size * size
    for width in config["dense"]:
        layers += [nn.Linear(features, width), nn.ReLU(inplace=True), nn.Dropout(config["dropout"])]
        features = width
    layers.append(nn.Linear(features, num_classes))
    model = nn.Sequential(*layers)
    if weights_file is not None:
        model.load_state_dict(load_state_dict(weights_file))
    return model


def preprocessing_for(options: dict[str, Any] | None) -> Preprocessing:
    size = normalize_options(options)["image_size"]
    return Preprocessing(
        input_size=(size, size), resize="stretch", resize_size=None, mean=(0.5,) * 3, std=(0.5,) * 3
    )


SPEC = ModelSpec(
    name="cnn",
    task="classify",
    family="visiona",
    build=build_simple_cnn,
    preprocessing=preprocessing_for(None),
    num_classes=10,
    description="from-scratch CNN (conv-ReLU-maxpool blocks + dense); options via --arch-opt",
    options_preprocessing=preprocessing_for,
)
