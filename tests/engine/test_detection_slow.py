"""The issue's acceptance check: a detector trained from scratch on generated shapes on a CPU
reaches mAP@.5 >= 0.5 on held-out generated images within 10 minutes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from visiona.data.detection.shapes import make_shapes
from visiona.engine.evaluate.detect import evaluate_detector
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import train
from visiona.models.load import load_model

TIME_LIMIT_S = 600


@pytest.mark.slow
@pytest.mark.timeout(TIME_LIMIT_S + 120)
def test_small_faster_rcnn_learns_shapes_within_ten_minutes(tmp_path: Path) -> None:
    train_data = tmp_path / "shapes"
    held_out = tmp_path / "held_out"
    make_shapes(train_data, num_images=400, image_size=128, seed=0)
    # Another seed: images the run never saw, neither in training nor in validation.
    make_shapes(held_out, num_images=100, image_size=128, seed=12345)
    started = time.perf_counter()
    config = TrainConfig.from_dict(
        {"task": "detect", "data": str(train_data), "model": "fasterrcnn_small", "epochs": 10,
         "batch_size": 8, "lr": 2e-3, "seed": 0, "project": str(tmp_path / "runs")}
    )  # fmt: skip
    result = train(config, progress=False)
    elapsed = time.perf_counter() - started
    loaded = load_model(result.best_checkpoint, task="detect")
    evaluation = evaluate_detector(loaded, held_out, subset="all", device="cpu")
    print(
        f"\nfasterrcnn_small on shapes: held-out mAP@.5 {evaluation.boxes.map50:.3f}, "
        f"mAP {evaluation.boxes.map:.3f}, training {elapsed:.0f} s"
    )
    assert elapsed < TIME_LIMIT_S
    assert evaluation.boxes.map50 >= 0.5
