"""The tuned predict pipeline: decoding ahead in threads keeps order, errors and results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colour_model import colour_checkpoint, make_colours
from tests_support import require_module
from visiona.engine.predict.predictor import Predictor
from visiona.errors import UsageError
from visiona.models.load import load_model
from visiona.ops.preprocess import normalize, resize_pixels
from visiona.weights.record import Preprocessing


def test_decoding_ahead_keeps_order_and_errors(tmp_path: Path) -> None:
    model = load_model(str(colour_checkpoint(tmp_path / "run" / "best")))
    data = make_colours(tmp_path / "colours")
    (data / "green" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    runs = {
        workers: list(Predictor(model, batch_size=3, workers=workers).stream(data))
        for workers in (0, 1, 2)
    }
    reference = runs[0]
    assert len(reference) == 14 and sum(not item.ok for item in reference) == 1
    for items in runs.values():
        assert [item.source for item in items] == [item.source for item in reference]
        assert [item.ok for item in items] == [item.ok for item in reference]
        assert [item.result.top1 if item.ok else None for item in items] == [
            item.result.top1 if item.ok else None for item in reference
        ]
    with pytest.raises(UsageError, match="workers"):
        Predictor(model, workers=-1)


def test_resize_then_normalize_is_the_reference_formula() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    bgr = Preprocessing(input_size=(24, 40), resize="stretch", resize_size=None, color_order="BGR")
    pixels = resize_pixels(image, bgr)
    assert pixels.dtype == torch.uint8 and tuple(pixels.shape) == (3, 24, 40)
    # The reference is PIL's antialiased bilinear resize (PIL takes width, height), not ours;
    # the two kernels round a few pixels differently by one grey level.
    reference = np.asarray(Image.fromarray(image).resize((40, 24), Image.BILINEAR))
    difference = np.abs(pixels.numpy().transpose(1, 2, 0).astype(int) - reference.astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.05
    # Normalising: (x / 255 - mean) / std per RGB channel, then the channels reversed for BGR.
    mean, std = np.array(bgr.mean), np.array(bgr.std)
    expected = ((reference / 255.0 - mean) / std)[..., ::-1].transpose(2, 0, 1)
    ours = normalize(pixels, bgr).numpy()
    np.testing.assert_allclose(ours, expected, atol=1.01 / 255 / std.min())
    assert np.abs(ours - expected).mean() < 0.05 / 255 / std.min()
    batch = normalize(pixels[None].repeat(2, 1, 1, 1), bgr)
    np.testing.assert_array_equal(batch[1].numpy(), ours)


def test_api_predict_with_an_onnx_file(tmp_path: Path) -> None:
    require_module("onnxruntime")
    import visiona
    from visiona.engine.export.onnx import export_onnx

    model = load_model(str(colour_checkpoint(tmp_path / "run" / "best")))
    data = make_colours(tmp_path / "colours", mislabelled=False)
    path = tmp_path / "c.onnx"
    export_onnx(model, path, verify=False)
    by_file = visiona.predict("classify", data, model=path, top_k=1)
    by_backend = visiona.predict("classify", data, model=tmp_path / "run" / "best", backend="onnx")
    assert [r.top1[0] for r in by_file] == [r.top1[0] for r in by_backend]
    assert [r.top1[0] for r in by_file] == ["blue"] * 4 + ["green"] * 4 + ["red"] * 4
