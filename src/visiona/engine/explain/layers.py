"""Which layer to look at: names, the automatic choice per architecture, and token reshaping.

CAM methods weight the activations of one layer. For a CNN that is the last layer whose output
is still a spatial map ``(N, C, h, w)`` with ``h, w >= 2`` (ResNet's ``layer4``, EfficientNet's
last ``features`` block): found by running the network once with forward hooks, so it works for
any catalogue model and checkpoint. Vision transformers return tokens ``(N, T, C)``: their last
block's first norm is used and the patch tokens are reshaped back into a grid
(:func:`token_reshape`); Swin's stages return ``(N, h, w, C)`` maps that only need a permute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from visiona.errors import UsageError
from visiona.registry import unknown_name_error

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class LayerChoice:
    """A layer to explain with, and how to turn its output into ``(N, C, h, w)``."""

    name: str
    module: nn.Module
    reshape: Callable[[torch.Tensor], torch.Tensor] | None = None


def layer_names(model: nn.Module) -> list[str]:
    """Every named submodule (``layer4``, ``layer4.1.conv2``...), in definition order."""
    return [name for name, _ in model.named_modules() if name]


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule called ``name``; unknown names raise with close matches."""
    names = layer_names(model)
    if name not in names:
        raise unknown_name_error(
            "layer", name, names, "list the layers with: visiona explain features -m MODEL --layers"
        )
    return model.get_submodule(name)


def output_shapes(model: nn.Module, example: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, output shape)`` of every named submodule that returned one tensor in one call, in
    the order their forward passes finished (a block after its children)."""
    import torch

    shapes: list[tuple[str, tuple[int, ...]]] = []
    calls: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(_module: Any, _inputs: Any, output: Any, name: str = name) -> None:
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, torch.Tensor):
                shapes.append((name, tuple(output.shape)))

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for handle in handles:
            handle.remove()
    # A module called more than once (a shared activation) has no single output to explain.
    return [(name, shape) for name, shape in shapes if calls[name] == 1]


def _is_vit(model: nn.Module) -> bool:
    return (
        hasattr(model, "blocks") and hasattr(model, "patch_embed") and hasattr(model, "cls_token")
    )


def _is_swin(model: nn.Module) -> bool:
    return "swin" in type(model).__name__.lower() and hasattr(model, "layers")


def token_reshape(grid: tuple[int, int], prefix_tokens: int) -> Callable[[Any], Any]:
    """``(N, prefix + h*w, C)`` tokens → ``(N, C, h, w)``, dropping class/distillation tokens."""

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        height, width = grid
        patches = tokens[:, prefix_tokens:, :]
        return patches.reshape(patches.shape[0], height, width, patches.shape[2]).permute(
            0, 3, 1, 2
        )

    return reshape


def channels_last_reshape(tokens: torch.Tensor) -> torch.Tensor:
    """Swin outputs → ``(N, C, h, w)``: ``(N, h, w, C)`` maps, or ``(N, h*w, C)`` tokens of a
    square window grid."""
    if tokens.ndim == 3:
        side = round(tokens.shape[1] ** 0.5)
        tokens = tokens.reshape(tokens.shape[0], side, side, tokens.shape[2])
    return tokens.permute(0, 3, 1, 2)


def choose_layer(model: nn.Module, example: torch.Tensor, name: str | None = None) -> LayerChoice:
    """The layer to explain ``model`` with: ``name`` if given, else the automatic choice.

    Args:
        model: A classifier ``(N, 3, H, W)`` → ``(N, C)``.
        example: An input of the model's size, ``(1, 3, H, W)``.
        name: A layer name from :func:`layer_names`.

    Raises:
        UnknownNameError: ``name`` is not a layer of the model.
        UsageError: No layer with a spatial output (nothing to map back onto the image).
    """
    if _is_vit(model):
        grid = tuple(model.patch_embed.grid_size)
        prefix = int(getattr(model, "num_prefix_tokens", 1))
        chosen = name or f"blocks.{len(model.blocks) - 1}.norm1"
        return LayerChoice(chosen, get_layer(model, chosen), token_reshape(grid, prefix))
    if _is_swin(model):
        last_stage = len(model.layers) - 1
        blocks = model.layers[last_stage].blocks
        chosen = name or f"layers.{last_stage}.blocks.{len(blocks) - 1}.norm2"
        return LayerChoice(chosen, get_layer(model, chosen), channels_last_reshape)
    if name is not None:
        return LayerChoice(name, get_layer(model, name))
    spatial = [
        layer for layer, shape in output_shapes(model, example)
        if len(shape) == 4 and shape[2] >= 2 and shape[3] >= 2
    ]  # fmt: skip
    if not spatial:
        raise UsageError(
            f"{type(model).__name__} has no layer with a spatial output to explain",
            hint="name one with --layer (see --layers)",
        )
    return LayerChoice(spatial[-1], model.get_submodule(spatial[-1]))
