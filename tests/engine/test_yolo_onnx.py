"""ultralytics-exported ONNX detectors run under visiona: letterbox, decoding, NMS, mapping back.

The ONNX files here are built by the test with the metadata ultralytics writes, so ultralytics
(AGPL-3.0) is not needed; the real one is exercised by bench/inference_peers.py --yolo.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from tests_support import require_module
from visiona.engine.predict.predictor import Predictor
from visiona.errors import UsageError
from visiona.models.load import load_model

require_module("onnxruntime")

NAMES = {0: "cat", 1: "dog"}


def _yolo_file(
    path: Path, rows: list[list[float]], *, end2end: bool = False, task: str = "detect"
) -> Path:
    """A (1, 3, 640, 640) → fixed-output network with ultralytics' metadata.

    ``rows``: one candidate per row, ``cx, cy, w, h, score_cat, score_dog`` (or, end to end,
    ``x0, y0, x1, y1, score, class``), in letterboxed input pixels.
    """
    table = torch.tensor(rows, dtype=torch.float32)
    fixed = table[None] if end2end else table.T[None]  # (1, K, 6) or (1, 4 + C, A)

    class Fixed(torch.nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return fixed + 0 * images.mean()

    buffer = io.BytesIO()
    torch.onnx.export(Fixed(), (torch.zeros(1, 3, 640, 640),), buffer, input_names=["images"],
                      output_names=["output0"], opset_version=17, dynamo=False)  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    meta = {"author": "Ultralytics", "task": task, "names": repr(NAMES), "imgsz": "[640, 640]",
            "stride": "32", "end2end": str(end2end), "license": "AGPL-3.0 License"}  # fmt: skip
    onnx.helper.set_model_props(proto, meta)
    onnx.save(proto, str(path))
    return path


def test_letterbox_decode_nms_and_mapping(tmp_path: Path) -> None:
    image = tmp_path / "wide.png"  # 320 wide, 160 high → ×2 to 640×320, 160 px grey bands
    Image.fromarray(np.zeros((160, 320, 3), np.uint8)).save(image)
    rows = [
        [320, 320, 200, 100, 0.9, 0.1],  # a cat
        [322, 320, 200, 100, 0.8, 0.1],  # the same cat again: removed by NMS
        [322, 320, 200, 100, 0.1, 0.7],  # a dog in the same place: another class, kept
        [100, 200, 40, 40, 0.005, 0.004],  # below the candidate threshold
    ]
    model = load_model(str(_yolo_file(tmp_path / "y.onnx", rows)), task="detect")
    assert model.weights.class_names == ("cat", "dog") and model.weights.task == "detect"
    predictor = Predictor(model)
    assert predictor.backend.name == "onnx"
    [found] = predictor.predict(image, conf=0.25)
    assert list(found.labels) == ["cat", "dog"]
    np.testing.assert_allclose(found.scores, [0.9, 0.7], rtol=1e-6)
    # (220, 270, 420, 370) in the letterboxed input → minus the 160 px band, halved.
    np.testing.assert_allclose(found.xyxy[0], [110, 55, 210, 105], atol=1e-4)
    np.testing.assert_allclose(found.xyxy[1], [111, 55, 211, 105], atol=1e-4)
    [only_dogs] = predictor.predict(image, conf=0.25, classes="dog")
    assert list(only_dogs.labels) == ["dog"]


def test_end_to_end_exports_and_refusals(tmp_path: Path) -> None:
    image = tmp_path / "square.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(image)
    rows = [[0, 0, 320, 320, 0.95, 1], [320, 320, 640, 640, 0.1, 0]]
    path = _yolo_file(tmp_path / "e2e.onnx", rows, end2end=True)
    [found] = Predictor(load_model(str(path), task="detect")).predict(image)
    assert list(found.labels) == ["dog"]
    np.testing.assert_allclose(found.xyxy, [[0, 0, 32, 32]], atol=1e-4)  # 64 px image, ×10
    pose = _yolo_file(tmp_path / "pose.onnx", rows, end2end=True, task="pose")
    with pytest.raises(UsageError, match="detectors only"):
        load_model(str(pose), task="detect")
    with pytest.raises(UsageError, match="'detect' model, not 'classify'"):
        load_model(str(path), task="classify")
