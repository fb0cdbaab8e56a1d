"""``visiona summary MODEL``: layer by layer, the shapes, parameters, MACs and receptive field.

Parameters and multiply-accumulates come from ``torchinfo`` (a maintained counter, not our own).
visiona adds what a course asks about convolutions:

* the arithmetic of every convolution and pooling layer, checked against the shape the layer
  really produced: ``out = ⌊(in + 2p − d(k − 1) − 1) / s⌋ + 1``;
* the receptive field and the stride "so far" (the jump between neighbouring outputs, in input
  pixels), followed along the tensors the network really passes on: a layer's input carries the
  receptive field of the layer that produced it, so a ResNet's shortcut branch does not count
  twice: ``rf_out = rf_in + (d(k − 1)) · jump_in`` and ``jump_out = jump_in · s``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from visiona.errors import MissingDependencyError

if TYPE_CHECKING:
    import torch
    from torch import nn


def _pair(value: Any) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, tuple | list) else (int(value),) * 2


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """One spatial side after a convolution or pooling: ``⌊(in + 2p − d(k−1) − 1)/s⌋ + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class Arithmetic:
    """One conv/pool layer's geometry along height and width."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    input_size: tuple[int, int]
    output_size: tuple[int, int]

    def formula(self) -> str:
        """The height's computation written out, e.g. ``⌊(224 + 2·3 − 1·(7−1) − 1)/2⌋ + 1 = 112``."""
        (k, _), (s, _), (p, _), (d, _) = self.kernel, self.stride, self.padding, self.dilation
        size = self.input_size[0]
        return f"⌊({size} + 2·{p} − {d}·({k}−1) − 1)/{s}⌋ + 1 = {self.output_size[0]}"

    @property
    def checked(self) -> bool:
        """Whether the formula gives the output size the layer produced."""
        sides = (self.input_size, self.kernel, self.stride, self.padding, self.dilation)
        return all(
            conv_output_size(*side) == out
            for *side, out in zip(*sides, self.output_size, strict=True)
        )


@dataclass
class LayerRow:
    """One row of the summary."""

    name: str
    type: str
    depth: int
    output_shape: tuple[int, ...] | None
    params: int
    trainable: int
    macs: int
    receptive_field: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    arithmetic: Arithmetic | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["frozen"] = self.params - self.trainable
        if self.arithmetic is not None:
            data["arithmetic"]["formula"] = self.arithmetic.formula()
            data["arithmetic"]["checked"] = self.arithmetic.checked
        return data


@dataclass
class ModelSummary:
    """The whole table and its totals."""

    model: str
    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    output_shape: tuple[int, ...] | None = None

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "frozen_params": self.frozen_params,
            "total_macs": self.total_macs,
            "layers": [row.to_dict() for row in self.rows],
        }


_GEOMETRIC = ("Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d")


def _arithmetic(module: nn.Module, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> Arithmetic:
    dilation = getattr(module, "dilation", 1)
    stride = module.stride if module.stride is not None else module.kernel_size
    return Arithmetic(
        kernel=_pair(module.kernel_size),
        stride=_pair(stride),
        padding=_pair(module.padding if not isinstance(module.padding, str) else 0),
        dilation=_pair(dilation),
        input_size=in_hw,
        output_size=out_hw,
    )


def _trace_geometry(model: nn.Module, example: torch.Tensor) -> dict[int, dict[str, Any]]:
    """Per module (by id): arithmetic, receptive field and jump of its (last) call."""
    import torch
    from torch import nn

    field_of: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {id(example): ((1, 1), (1, 1))}
    keep: list[torch.Tensor] = [example]  # keep tensors alive so their ids stay unique
    last = ((1, 1), (1, 1))
    info: dict[int, dict[str, Any]] = {}

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        nonlocal last
        if not isinstance(output, torch.Tensor):
            return
        if any(module.children()):  # a block: what its last layer passed on
            rf, jump = field_of.get(id(output), last)
            info[id(module)] = {"receptive_field": rf, "jump": jump}
            return
        source = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        rf, jump = field_of.get(id(source), last) if source is not None else last
        entry: dict[str, Any] = {}
        if type(module).__name__ in ("Conv2d", "MaxPool2d", "AvgPool2d") and output.ndim == 4:
            assert source is not None
            geometry = _arithmetic(module, tuple(source.shape[-2:]), tuple(output.shape[-2:]))
            span = tuple(
                d * (k - 1) for k, d in zip(geometry.kernel, geometry.dilation, strict=True)
            )
            rf = (rf[0] + span[0] * jump[0], rf[1] + span[1] * jump[1])
            jump = (jump[0] * geometry.stride[0], jump[1] * geometry.stride[1])
            entry["arithmetic"] = geometry
        elif isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and source is not None:
            rf = (
                rf[0] + (source.shape[-2] - 1) * jump[0],
                rf[1] + (source.shape[-1] - 1) * jump[1],
            )
        entry["receptive_field"], entry["jump"] = rf, jump
        info[id(module)] = entry
        field_of[id(output)] = (rf, jump)
        keep.append(output)
        last = (rf, jump)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return info


def summarize(
    model: nn.Module, input_shape: tuple[int, ...], *, name: str = "", depth: int = 3
) -> ModelSummary:
    """The summary of ``model`` for an input of ``input_shape`` (e.g. ``(1, 3, 224, 224)``).

    Args:
        model: The network (evaluated in eval mode, on the CPU, without gradients).
        input_shape: ``(N, C, H, W)``.
        name: Shown as the model's name.
        depth: Deepest nesting level listed (1: the top-level blocks only).
    """
    import torch

    try:
        import torchinfo
    except ImportError:
        raise MissingDependencyError(
            "torchinfo is not installed", hint='install it with: pip install "visiona[explain]"'
        ) from None
    model = model.eval()
    example = torch.zeros(input_shape)
    stats = torchinfo.summary(
        model, input_data=[example], depth=max(depth, 1), verbose=0, device="cpu",
        col_names=("output_size", "num_params", "mult_adds"),
    )  # fmt: skip
    geometry = _trace_geometry(model, example)
    names = {id(module): module_name for module_name, module in model.named_modules()}
    summary = ModelSummary(
        model=name or type(model).__name__,
        input_shape=tuple(input_shape),
        total_params=int(stats.total_params),
        trainable_params=int(stats.trainable_params),
        total_macs=int(stats.total_mult_adds),
    )
    seen: set[int] = set()
    for layer in stats.summary_list:
        if layer.depth == 0 or layer.depth > depth or id(layer.module) in seen:
            continue
        seen.add(id(layer.module))
        parameters = list(layer.module.parameters())
        extra = geometry.get(id(layer.module), {})
        output = layer.output_size
        summary.rows.append(
            LayerRow(
                name=names.get(id(layer.module), layer.var_name),
                type=layer.class_name,
                depth=layer.depth,
                output_shape=tuple(output) if output else None,
                params=sum(p.numel() for p in parameters),
                trainable=sum(p.numel() for p in parameters if p.requires_grad),
                macs=int(layer.macs),
                receptive_field=extra.get("receptive_field"),
                jump=extra.get("jump"),
                arithmetic=extra.get("arithmetic"),
            )
        )
    with torch.no_grad():
        output = model(example)
    if isinstance(output, torch.Tensor):
        summary.output_shape = tuple(output.shape)
    return summary
