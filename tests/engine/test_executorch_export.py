"""Optional ExecuTorch export: a verified .pte with the Weights record as a constant method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from colour_model import CLASSES, colour_checkpoint, make_colours
from tests_support import require_module
from visiona.engine.export.executorch import export_pte, read_pte_metadata, run_pte
from visiona.models.load import load_model
from visiona.ops.preprocess import normalize

require_module("executorch.runtime", "scripts/install_tflite_packages.sh (executorch, --no-deps)")


@pytest.mark.slow
def test_pte_export_is_verified_and_carries_the_record(tmp_path: Path) -> None:
    model = load_model(str(colour_checkpoint(tmp_path / "run" / "best")))
    path = tmp_path / "out" / "colours.pte"
    report = export_pte(model, path, verify_images=[make_colours(tmp_path / "colours")])
    assert report.verification is not None and report.verification.passed
    assert report.to_dict()["format"] == "pte" and path.stat().st_size == report.size_bytes
    meta = read_pte_metadata(path)
    assert meta["visiona.format"] == "visiona.pte/1"
    assert json.loads(meta["visiona.weights"])["class_names"] == list(CLASSES)
    assert json.loads(path.with_suffix(".json").read_text())["input"]["dtype"] == "uint8"
    pixels = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    with torch.inference_mode():
        reference = model.module(normalize(pixels, model.weights.preprocessing)).numpy()
    assert abs(run_pte(path.read_bytes(), pixels) - reference).max() < 1e-4
