"""Every torchvision classification model by name, with its published weights as Weights records."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.models.spec import ModelSpec
from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, Weights

if TYPE_CHECKING:
    from torch import nn

PREFIX = "torchvision/"
LICENSE = "BSD-3-Clause"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
# DenseNet checkpoints predate a rename of their layer keys (norm.1 -> norm1).
_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


@functools.cache
def classification_names() -> tuple[str, ...]:
    """Names of torchvision's classification builders (``resnet18``, ``vit_b_16``...)."""
    import torchvision.models

    return tuple(torchvision.models.list_models(module=torchvision.models))


def _fix_legacy_keys(state: dict[str, Any]) -> dict[str, Any]:
    fixed = {}
    for key, value in state.items():
        match = _DENSENET_KEY.match(key)
        fixed[match.group(1) + match.group(2) if match else key] = value
    return fixed


def _builder(name: str):
    def build(num_classes: int, weights_file: Path | None) -> nn.Module:
        import torchvision.models

        from visiona.weights.loading import load_state_dict

        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
        if weights_file is not None:
            model.load_state_dict(_fix_legacy_keys(load_state_dict(weights_file)))
        return model

    return build


def _preprocessing(transforms: Any) -> Preprocessing:
    keywords = getattr(transforms, "keywords", {}) or {}
    crop = int(keywords.get("crop_size", 224))
    resize = int(keywords.get("resize_size", 256))
    interpolation = getattr(keywords.get("interpolation"), "value", "bilinear")
    return Preprocessing(
        input_size=(crop, crop),
        resize="shorter_side_center_crop",
        resize_size=max(resize, crop),
        interpolation=interpolation if interpolation in ("nearest", "bicubic") else "bilinear",
        mean=tuple(keywords.get("mean", IMAGENET_MEAN)),
        std=tuple(keywords.get("std", IMAGENET_STD)),
    )


def published_weights(
    name: str,
    *,
    task: str = "classify",
    preprocessing: Preprocessing | None = None,
    drop_background: bool = False,
) -> tuple[Weights, ...]:
    """torchvision's published weights for ``name`` as Weights records, its DEFAULT first.

    Args:
        name: A torchvision model name.
        task: The records' task.
        preprocessing: One preprocessing for every record; None derives it from each weight's
            evaluation transforms (classifiers).
        drop_background: Leave out category 0 (torchvision detectors' background).

    The sha256 prefix comes from the file name (torchvision's ``-<hash>.pth`` convention).
    """
    import torchvision.models

    try:
        enum = torchvision.models.get_model_weights(name)
    except (ValueError, KeyError):
        return ()
    members = list(enum)
    default = getattr(enum, "DEFAULT", None)
    if default in members:
        members.remove(default)
        members.insert(0, default)
    records = []
    for member in members:
        meta = member.meta
        match = _HASH_IN_NAME.search(member.url.rsplit("/", 1)[-1])
        metrics = {
            f"{dataset.lower()}/{metric}": float(value)
            for dataset, values in meta.get("_metrics", {}).items()
            for metric, value in values.items()
        }
        size_mb = meta.get("_file_size")
        categories = tuple(meta.get("categories") or ())
        records.append(
            Weights(
                model=name,
                tag=member.name.lower(),
                task=task,
                urls=(member.url,),
                sha256=match.group(1) if match else None,
                file_format="pth",
                file_size=int(size_mb * 1024 * 1024) if size_mb else None,
                preprocessing=preprocessing or _preprocessing(member.transforms),
                class_names=categories[1:] if drop_background else categories,
                license=LICENSE,
                metrics=metrics,
                num_params=meta.get("num_params"),
                description=f"torchvision {name} {member.name}",
            )
        )
    return tuple(records)


def spec_for(name: str) -> ModelSpec | None:
    """A ModelSpec for torchvision's ``name`` (with or without the ``torchvision/`` prefix)."""
    bare = name.removeprefix(PREFIX)
    if bare not in classification_names():
        return None
    return ModelSpec(
        name=bare,
        task="classify",
        family="torchvision",
        build=_builder(bare),
        weights_factory=functools.partial(published_weights, bare),
        preprocessing=Preprocessing(),
        num_classes=1000,
        description=f"torchvision {bare}",
    )
