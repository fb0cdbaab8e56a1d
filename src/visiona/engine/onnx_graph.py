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

from visiona.errors import MissingDependencyError, WeightsError
from visiona.weights.record import Weights

if TYPE_CHECKING:
    import torch
    from torch import nn

    from visiona.weights.record import Preprocessing

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
            exported by ultralytics, see :mod:`visiona.engine.yolo_onnx`).
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
    from visiona.engine.preprocess import resize_rule

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


def read_onnx(path: str | Path) -> OnnxModel:
    """Read an ONNX file exported by visiona (or an ultralytics detector), with its record.

    Raises:
        WeightsError: Not an ONNX file, or one without visiona (or ultralytics) metadata.
    """
    import onnx

    path = Path(path)
    data = path.read_bytes()
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf DecodeError and friends
        raise WeightsError(f"{path}: not a valid ONNX file ({type(error).__name__})") from None
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    from visiona.engine import yolo_onnx

    if "visiona.format" not in meta and yolo_onnx.is_ultralytics(meta):
        return yolo_onnx.read_ultralytics(path, data, meta)
    if meta.get("visiona.format") != FORMAT:
        raise WeightsError(
            f"{path}: an ONNX file without visiona metadata",
            hint="export models with: visiona export MODEL --format onnx",
        )
    try:
        weights = Weights.from_json(meta["visiona.weights"])
        outputs = tuple(json.loads(meta["visiona.outputs"]))
        extra = json.loads(meta.get("visiona.extra", "{}"))
    except (KeyError, ValueError, TypeError) as error:
        raise WeightsError(f"{path}: damaged visiona metadata ({error})") from None
    return OnnxModel(
        model_bytes=data,
        weights=weights,
        architecture=meta.get("visiona.architecture", weights.model),
        batched=meta.get("visiona.batched", "1") == "1",
        outputs=outputs,
        path=path,
        arch_options=dict(extra.get("arch_options", {})),
    )


def pixels_wrapper(module: nn.Module, preprocessing: Preprocessing, batched: bool) -> nn.Module:
    """``module`` behind the uint8 → normalised-float front end, ready for export.

    Classifiers (``batched``): ``(N, 3, H, W)`` uint8 → ``(N, C)`` logits. Detectors: one
    ``(3, H, W)`` uint8 image → a tuple of the output dict's tensors.
    """
    import torch
    from torch import nn

    from visiona.engine.preprocess import normalization_constants

    scale, shift = normalization_constants(preprocessing)
    flip = preprocessing.color_order == "BGR"

    class Pixels(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module
            self.register_buffer("scale", torch.tensor(scale).view(3, 1, 1), persistent=False)
            self.register_buffer("shift", torch.tensor(shift).view(3, 1, 1), persistent=False)

        def forward(self, pixels: torch.Tensor) -> Any:
            x = pixels.to(torch.float32) * self.scale + self.shift
            if flip:
                x = x.flip(-3)
            if batched:
                return self.inner(x)
            output = self.inner([x])[0]
            return tuple(output[name] for name in detector_output_names(output))

    return Pixels().eval()


def detector_output_names(output: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """The order in which a torchvision detector's output dict is exported."""
    order = ("boxes", "labels", "scores", "masks", "keypoints", "keypoints_scores")
    return tuple(name for name in order if name in output)
