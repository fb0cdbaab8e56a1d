"""What a visiona ONNX file is: the graph's input convention and the metadata it carries.

Design ("preprocessing inside"): an exported graph takes **uint8 RGB pixels that are already
resized** — ``pixels`` ``(N, 3, H, W)`` for classifiers, ``(3, H, W)`` for torchvision detectors
— and does the value half of preprocessing itself (``x / 255``, ``(x - mean) / std``, channel
order) as its first two nodes. The geometric half (decode, resize, centre crop) stays outside the
graph, because it depends on each image's size and is what the Weights record's ``preprocessing``
describes exactly. The record is stored in the model's metadata (``metadata_props``), so the
ONNX Runtime backend, the server and any other runtime can rebuild the whole pipeline from the
file alone.

Feeding uint8 also moves 4× fewer bytes per batch than float32, and the constants of the
normalisation live in the graph, where they cannot drift from the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiona.errors import MissingDependencyError
from visiona.weights.record import Weights

if TYPE_CHECKING:
    pass

FORMAT = "visiona.onnx/1"
INPUT_NAME = "pixels"
CLASSIFIER_OUTPUTS = ("logits",)
ONNX_EXTRA = 'pip install "visiona[onnx]"'


def require_onnxruntime() -> Any:
    """Import ``onnxruntime`` or explain which extra installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError(
            "ONNX Runtime is not installed", hint=f"install it with: {ONNX_EXTRA}"
        ) from None
    return onnxruntime


@dataclass(frozen=True)
class OnnxModel:
    """An exported model: the serialized graph and what its metadata says.

    Attributes:
        model_bytes: The ``.onnx`` file's content.
        weights: The embedded Weights record (task, class names, preprocessing).
        architecture: Catalogue name of the architecture that was exported.
        batched: ``True``: input ``(N, 3, H, W)``; ``False``: one ``(3, H, W)`` image per call.
        outputs: Output names, in graph order.
        path: The file it was read from, if any.
        arch_options: Architecture options the model was built with.
        kind: ``"visiona"`` (this module's convention) or ``"ultralytics-yolo"`` (a file
            exported by ultralytics, see :mod:`visiona.models.onnx.ultralytics`).
        options: Kind-specific settings.
    """

    model_bytes: bytes
    weights: Weights
    architecture: str
    batched: bool
    outputs: tuple[str, ...]
    path: Path | None = None
    arch_options: dict[str, Any] = field(default_factory=dict)
    kind: str = "visiona"
    options: dict[str, Any] = field(default_factory=dict)

    def eval(self) -> OnnxModel:  # the LoadedModel contract: module.eval()
        return self


def metadata_for(
    weights: Weights, architecture: str, batched: bool, outputs: tuple[str, ...], **extra: Any
) -> dict[str, str]:
    """The ``metadata_props`` visiona writes into an ONNX file.

    ``visiona.resize`` spells out the geometric preprocessing (sizes, rounding of the long side
    and of the crop offset, interpolation, antialiasing) so it can be reproduced without visiona.
    """
    from visiona.ops.preprocess import resize_rule

    return {
        "visiona.format": FORMAT,
        "visiona.weights": weights.to_json(),
        "visiona.architecture": architecture,
        "visiona.task": weights.task,
        "visiona.batched": "1" if batched else "0",
        "visiona.outputs": json.dumps(list(outputs)),
        "visiona.input": f"{INPUT_NAME}: uint8 RGB, resized as visiona.resize says",
        "visiona.resize": json.dumps(resize_rule(weights.preprocessing)),
        "visiona.extra": json.dumps(extra),
    }
