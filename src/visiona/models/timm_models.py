"""Every timm architecture by name (``timm/NAME`` or a bare name torchvision lacks).

Pretrained variants come from timm's own configuration; their files are fetched from the Hugging
Face hub (``hf://timm/NAME.TAG@main/model.safetensors``) by visiona's resolver, then handed to
``timm.create_model`` as a local file, so timm itself never touches the network.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.models.imagenet import imagenet1k_class_names, numbered_class_names
from visiona.models.spec import ModelSpec
from visiona.weights.record import Preprocessing, Weights

if TYPE_CHECKING:
    from torch import nn

PREFIX = "timm/"
# timm's configs name no hub commit; "main" is the best pin available without network.
HUB_REVISION = "main"


@functools.cache
def architecture_names() -> tuple[str, ...]:
    import timm

    return tuple(timm.list_models())


def _builder(name: str):
    def build(num_classes: int, weights_file: Path | None) -> nn.Module:
        import timm

        if weights_file is None:
            return timm.create_model(name, pretrained=False, num_classes=num_classes)
        return timm.create_model(
            name,
            pretrained=True,
            num_classes=num_classes,
            pretrained_cfg_overlay={"file": str(weights_file)},
        )

    return build


def _preprocessing(cfg: dict[str, Any]) -> Preprocessing:
    _, height, width = cfg.get("input_size", (3, 224, 224))
    crop_pct = cfg.get("crop_pct") or 0.875
    interpolation = cfg.get("interpolation", "bilinear")
    if cfg.get("crop_mode", "center") != "center" or crop_pct >= 1.0:
        return Preprocessing(
            input_size=(height, width),
            resize="stretch",
            resize_size=None,
            interpolation=interpolation if interpolation in ("nearest", "bicubic") else "bilinear",
            mean=tuple(cfg.get("mean")),
            std=tuple(cfg.get("std")),
        )
    return Preprocessing(
        input_size=(height, width),
        resize="shorter_side_center_crop",
        resize_size=math.floor(min(height, width) / crop_pct),
        interpolation=interpolation if interpolation in ("nearest", "bicubic") else "bilinear",
        mean=tuple(cfg.get("mean")),
        std=tuple(cfg.get("std")),
    )


def _class_names(cfg: dict[str, Any]) -> tuple[str, ...]:
    num_classes = int(cfg.get("num_classes") or 0)
    if num_classes == 1000:
        return imagenet1k_class_names()
    try:
        from timm.data import ImageNetInfo, infer_imagenet_subset

        subset = infer_imagenet_subset(cfg)
        if subset:
            descriptions = ImageNetInfo(subset).label_descriptions()
            if len(descriptions) == num_classes:
                return tuple(d.split(",")[0].strip() for d in descriptions)
    except (ImportError, ValueError, KeyError, OSError):
        pass
    return numbered_class_names(num_classes)


def _weights(name: str) -> tuple[Weights, ...]:
    import timm
    from timm.models import get_pretrained_cfg

    records = []
    for full_name in timm.list_pretrained(f"{name}.*"):
        tag = full_name.split(".", 1)[1]
        cfg_object = get_pretrained_cfg(full_name)
        if cfg_object is None:
            continue
        cfg = cfg_object.to_dict()
        if cfg.get("num_classes", 0) <= 0:
            continue  # feature extractors without a classifier belong to `embed`
        if cfg.get("hf_hub_id"):
            filename = cfg.get("hf_hub_filename") or "model.safetensors"
            urls: tuple[str, ...] = (f"hf://{cfg['hf_hub_id']}@{HUB_REVISION}/{filename}",)
            file_format = "safetensors" if filename.endswith(".safetensors") else "pth"
        elif cfg.get("url"):
            urls, file_format = (cfg["url"],), "pth"
        else:
            continue
        records.append(
            Weights(
                model=PREFIX + name,
                tag=tag,
                urls=urls,
                file_format=file_format,
                preprocessing=_preprocessing(cfg),
                class_names=_class_names(cfg),
                license=cfg.get("license") or "see model card",
                description=f"timm {full_name}",
            )
        )
    return tuple(records)


def spec_for(name: str) -> ModelSpec | None:
    """A ModelSpec for timm's architecture ``name`` (with or without the ``timm/`` prefix)."""
    bare = name.removeprefix(PREFIX)
    if bare not in architecture_names():
        return None
    return ModelSpec(
        name=PREFIX + bare,
        task="classify",
        family="timm",
        build=_builder(bare),
        weights_factory=functools.partial(_weights, bare),
        preprocessing=Preprocessing(),
        num_classes=1000,
        description=f"timm {bare}",
    )
