"""PyTorch model → in-memory ONNX graph in visiona's convention (uint8 pixels in, metadata inside).

Shared by the ONNX Runtime backend (a PyTorch model asked to run with ``backend="onnx"``) and by
``visiona export`` (which verifies the graph and writes it to a file).
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.models.onnx.format import CLASSIFIER_OUTPUTS, INPUT_NAME, OnnxModel, metadata_for
from visiona.tasks.base import get_task

if TYPE_CHECKING:
    import torch
    from torch import nn

    from visiona.models.load import LoadedModel
    from visiona.weights.record import Preprocessing

DEFAULT_OPSET = 17


def to_onnx(model: LoadedModel, *, opset: int = DEFAULT_OPSET, dynamo: bool = False) -> OnnxModel:
    """Export ``model`` to an in-memory ONNX graph with visiona metadata (not verified).

    Args:
        model: A loaded torch model with its Weights record.
        opset: ONNX opset version.
        dynamo: Use the ``torch.export``-based exporter (classifiers only).

    Raises:
        UsageError: ``dynamo`` asked for a detector.
    """
    import onnx
    import torch

    task = get_task(model.task)
    # Dense tasks (segment): a batched network with dynamic height and width in and out.
    spatial = getattr(task, "spatial_output", False)
    batched = task.batched_input or spatial
    if dynamo and not batched:
        raise UsageError(
            "torchvision detectors export only with the legacy exporter (their NMS breaks the "
            "dynamo exporter); drop --dynamo"
        )
    record = model.weights
    wrapper = pixels_wrapper(model.module.eval(), record.preprocessing, batched)
    height, width = record.preprocessing.input_size
    generator = torch.Generator().manual_seed(0)
    shape = (2, 3, height, width) if batched else (3, height, width)
    example = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    if batched:
        outputs: tuple[str, ...] = CLASSIFIER_OUTPUTS
    else:
        with torch.inference_mode():
            outputs = _detector_outputs(model.module, example)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about data-dependent shapes in NMS
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=4096)
            program = torch.onnx.export(
                wrapper,
                (example,),
                input_names=[INPUT_NAME],
                output_names=list(outputs),
                dynamic_shapes={"pixels": {0: batch}},
                opset_version=max(opset, 18),
                dynamo=True,
                verbose=False,
            )
            proto = program.model_proto
        else:
            axes = {0: "batch"} if batched else {1: "height", 2: "width"}
            if spatial:
                axes = {0: "batch", 2: "height", 3: "width"}
            dynamic_axes = {INPUT_NAME: axes}
            for name in outputs:
                dynamic_axes[name] = {0: "batch" if batched else "detections"}
                if spatial:
                    dynamic_axes[name] = axes
            torch.onnx.export(
                wrapper,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=list(outputs),
                dynamic_axes=dynamic_axes,
                opset_version=opset,
                dynamo=False,
            )
            proto = onnx.load_model_from_string(buffer.getvalue())
    metadata = metadata_for(
        record, model.architecture, batched, outputs, arch_options=model.arch_options
    )
    onnx.helper.set_model_props(proto, metadata)
    proto.producer_name = "visiona"
    return OnnxModel(
        model_bytes=proto.SerializeToString(),
        weights=record,
        architecture=model.architecture,
        batched=batched,
        outputs=outputs,
        arch_options=dict(model.arch_options),
    )


def _detector_outputs(module: Any, example: torch.Tensor) -> tuple[str, ...]:
    output = module.eval()([example.float() / 255])[0]
    return detector_output_names(output)


def pixels_wrapper(module: nn.Module, preprocessing: Preprocessing, batched: bool) -> nn.Module:
    """``module`` behind the uint8 → normalised-float front end, ready for export.

    Classifiers (``batched``): ``(N, 3, H, W)`` uint8 → ``(N, C)`` logits. Detectors: one
    ``(3, H, W)`` uint8 image → a tuple of the output dict's tensors.
    """
    import torch
    from torch import nn

    from visiona.ops.preprocess import normalization_constants

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
