"""What a layer computes: the feature maps of one image at a named layer, and the kernels.

Both are drawn as grids of small grey tiles (each tile scaled to its own min..max), the pictures a
course shows to make "layer 1 finds edges, deeper layers find parts" concrete.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from visiona.io.images import LoadedImage
    from visiona.models.load import LoadedModel

TILE_GAP = 2


def tile_grid(tiles: np.ndarray, columns: int | None = None, scale: int = 1) -> np.ndarray:
    """Lay ``(K, h, w)`` or ``(K, h, w, 3)`` tiles out on a grid with white gaps.

    Each tile is min-max scaled to [0, 255] on its own, so weak and strong channels both show.

    Returns:
        ``(rows*(h+gap)-gap, cols*(w+gap)-gap[, 3])`` uint8, tiles enlarged ``scale`` times.
    """
    count = len(tiles)
    if count == 0:
        raise ValueError("no tiles to lay out")
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tiles = tiles.astype(np.float32)
    low = tiles.reshape(count, -1).min(axis=1).reshape((count,) + (1,) * (tiles.ndim - 1))
    high = tiles.reshape(count, -1).max(axis=1).reshape((count,) + (1,) * (tiles.ndim - 1))
    scaled = ((tiles - low) / np.maximum(high - low, 1e-12) * 255).round().astype(np.uint8)
    if scale > 1:
        scaled = scaled.repeat(scale, axis=1).repeat(scale, axis=2)
    height, width = scaled.shape[1:3]
    shape = (rows * (height + TILE_GAP) - TILE_GAP, columns * (width + TILE_GAP) - TILE_GAP)
    grid = np.full(shape + scaled.shape[3:], 255, np.uint8)
    for index, tile in enumerate(scaled):
        row, column = divmod(index, columns)
        y, x = row * (height + TILE_GAP), column * (width + TILE_GAP)
        grid[y : y + height, x : x + width] = tile
    return grid


def _enlarge(min_side: int, target: int = 48) -> int:
    return max(1, math.ceil(target / max(1, min_side)))


def feature_maps(
    model: LoadedModel, image: LoadedImage, layer: str, *, limit: int = 64
) -> tuple[np.ndarray, tuple[int, ...]]:
    """The first ``limit`` channels of ``layer``'s output for ``image``, as a grid picture.

    Returns:
        ``(grid, shape)``: the uint8 grid and the layer's full output shape ``(1, C, h, w)``.

    Raises:
        UnknownNameError: No such layer (close matches listed).
        UsageError: The layer's output is not a spatial map.
    """
    import torch

    from visiona.engine.explain.cam import torch_module
    from visiona.engine.explain.layers import get_layer
    from visiona.ops.preprocess import normalize, resize_pixels

    module = torch_module(model).eval()
    target = get_layer(module, layer)
    captured: list[Any] = []
    handle = target.register_forward_hook(lambda _m, _i, output: captured.append(output))
    preprocessing = model.weights.preprocessing
    batch = normalize(resize_pixels(image.array, preprocessing), preprocessing).unsqueeze(0)
    try:
        with torch.no_grad():
            module(batch if model.weights.preprocessing.resize != "none" else [batch[0]])
    finally:
        handle.remove()
    if not captured or not isinstance(captured[0], torch.Tensor) or captured[0].ndim != 4:
        shape = tuple(captured[0].shape) if captured and hasattr(captured[0], "shape") else ()
        raise UsageError(
            f"layer {layer!r} does not output a (N, C, h, w) feature map (got shape {shape})",
            hint="pick a convolutional layer; list them with --layers",
        )
    output = captured[0]
    maps = output[0, :limit].float().numpy()
    return tile_grid(maps, scale=_enlarge(min(maps.shape[1:]))), tuple(output.shape)


def conv_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` of every 2-D convolution, in definition order."""
    from torch import nn

    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def kernel_grid(
    model: LoadedModel, layer: str | None = None, *, limit: int = 64
) -> tuple[np.ndarray, str, tuple[int, ...]]:
    """A picture of a convolution's filters.

    A convolution whose filters see the 3 RGB channels (the first one, the default) is drawn in
    colour, one tile per filter; a deeper one as one grey tile per filter, its kernels averaged
    over the input channels. At most ``limit`` filters are drawn.

    Returns:
        ``(grid, layer name, weight shape (out, in, kh, kw))``.

    Raises:
        UsageError: The model has no convolution, or ``layer`` is not one.
    """
    from torch import nn

    from visiona.engine.explain.cam import torch_module
    from visiona.engine.explain.layers import get_layer

    module = torch_module(model)
    if layer is None:
        convs = conv_layers(module)
        if not convs:
            raise UsageError(f"{model.source} has no 2-D convolution whose kernels could be drawn")
        layer, conv = convs[0]
    else:
        conv = get_layer(module, layer)
        if not isinstance(conv, nn.Conv2d):
            names = ", ".join(name for name, _ in conv_layers(module)[:6])
            raise UsageError(
                f"layer {layer!r} is a {type(conv).__name__}, not a convolution",
                hint=f"convolutions: {names}...",
            )
    weight: torch.Tensor = conv.weight.detach().float()
    shape = tuple(weight.shape)
    kernels = weight[:limit].numpy()
    # (out, 3, kh, kw) → RGB tiles; deeper layers: each filter averaged over its input channels.
    tiles = kernels.transpose(0, 2, 3, 1) if kernels.shape[1] == 3 else kernels.mean(axis=1)
    return tile_grid(tiles, scale=_enlarge(min(shape[2:]), 24)), layer, shape
