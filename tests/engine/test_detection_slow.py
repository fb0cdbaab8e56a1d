"""The issue's acceptance check: a detector trained from scratch on generated shapes on a CPU
reaches mAP@.5 >= 0.5 on held-out generated images. How long it takes is measured by
``bench/detection_from_scratch.py`` (BENCHMARKS.md), not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from visiona.data.detection.shapes import make_shapes
from visiona.engine.evaluate.detect import evaluate_detector
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import train
from visiona.models.load import load_model

CONFIG = {"model": "fasterrcnn_small", "epochs": 10, "batch_size": 8, "lr": 2e-3, "seed": 0}


def train_and_score(root: Path) -> tuple[float, float]:
    """Train on 400 shapes images (seed 0), score on 100 held-out ones: (mAP@.5, mAP)."""
    train_data = root / "shapes"
    held_out = root / "held_out"
    make_shapes(train_data, num_images=400, image_size=128, seed=0)
    # Another seed: images the run never saw, neither in training nor in validation.
    make_shapes(held_out, num_images=100, image_size=128, seed=12345)
    config = TrainConfig.from_dict(
        {"task": "detect", "data": str(train_data), "project": str(root / "runs"), **CONFIG}
    )
    result = train(config, progress=False)
    loaded = load_model(result.best_checkpoint, task="detect")
    evaluation = evaluate_detector(loaded, held_out, subset="all", device="cpu")
    return evaluation.boxes.map50, evaluation.boxes.map


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a hung run, not a speed limit
def test_small_faster_rcnn_learns_shapes_from_scratch(tmp_path: Path) -> None:
    map50, map_ = train_and_score(tmp_path)
    print(f"\nfasterrcnn_small on shapes: held-out mAP@.5 {map50:.3f}, mAP {map_:.3f}")
    assert map50 >= 0.5
