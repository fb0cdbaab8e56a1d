"""Parity check of a dense (segmentation) ONNX export: same logits, same class per pixel.

Each verification image runs whole (padded to a multiple of 32, as ``predict`` pads it) through
PyTorch eager and ONNX Runtime; images of different sizes exercise the dynamic height and width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel
    from visiona.models.onnx.format import OnnxModel

PIXEL_AGREEMENT = 0.999
"""Share of pixels whose class must agree: exact ties in the logits may break either way."""
MAX_SIDE = 512


def verify_dense_export(
    model: LoadedModel,
    exported: OnnxModel,
    images: Sequence[np.ndarray],
    *,
    atol: float,
    rtol: float,
) -> tuple[int, float, float, float]:
    """``(images, max |diff|, tolerance, share of images that agree)``: largest logit difference over every pixel; an image agrees when ≥ 99.9 % of its pixels
    get the same class."""
    import torch

    from visiona.engine.predict.onnx_backend import session_for
    from visiona.models.onnx.format import INPUT_NAME
    from visiona.ops.preprocess import normalize
    from visiona.ops.tiling import STRIDE, round_up

    preprocessing = model.weights.preprocessing
    session = session_for(exported.model_bytes)
    module = model.module.eval()
    diffs, agree, scale = [0.0], [], 0.0
    for image in images:
        crop = image[:MAX_SIDE, :MAX_SIDE]
        height, width = round_up(crop.shape[0], STRIDE), round_up(crop.shape[1], STRIDE)
        padded = np.pad(crop, ((0, height - crop.shape[0]), (0, width - crop.shape[1]), (0, 0)),
                        mode="edge")  # fmt: skip
        pixels = torch.from_numpy(np.ascontiguousarray(padded)).permute(2, 0, 1)[None]
        with torch.inference_mode():
            reference = module(normalize(pixels, preprocessing)).float().numpy()
        (ours,) = session.run(None, {INPUT_NAME: pixels.contiguous().numpy()})
        diffs.append(float(np.abs(ours - reference).max()))
        scale = max(scale, float(np.abs(reference).max()))
        same = float(np.mean(ours.argmax(1) == reference.argmax(1)))
        agree.append(float(same >= PIXEL_AGREEMENT))
    return len(images), max(diffs), atol + rtol * scale, float(np.mean(agree))
