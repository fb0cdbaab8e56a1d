"""Time the detection acceptance run: fasterrcnn_small from scratch on generated shapes, CPU.

The same training and held-out scoring as tests/engine/test_detection_slow.py (which checks only
the mAP, never the time); this prints the wall-clock time for the issue's "within 10 minutes".

Usage: .venv/bin/python bench/detection_from_scratch.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from visiona.data.detection.shapes import make_shapes
from visiona.engine.evaluate.detect import evaluate_detector
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import train
from visiona.models.load import load_model

CONFIG = {"model": "fasterrcnn_small", "epochs": 10, "batch_size": 8, "lr": 2e-3, "seed": 0}
TARGET_S = 600


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_shapes(root / "shapes", num_images=400, image_size=128, seed=0)
        make_shapes(root / "held_out", num_images=100, image_size=128, seed=12345)
        config = TrainConfig.from_dict(
            {
                "task": "detect",
                "data": str(root / "shapes"),
                "project": str(root / "runs"),
                **CONFIG,
            }
        )
        started = time.perf_counter()
        result = train(config, progress=False)
        elapsed = time.perf_counter() - started
        loaded = load_model(result.best_checkpoint, task="detect")
        boxes = evaluate_detector(loaded, root / "held_out", subset="all", device="cpu").boxes
    verdict = "met" if elapsed < TARGET_S else "MISSED"
    print(f"{CONFIG}: held-out mAP@.5 {boxes.map50:.3f}, mAP {boxes.map:.3f}")
    print(f"training (10 epochs, incl. validation): {elapsed:.0f} s (< {TARGET_S} s: {verdict})")


if __name__ == "__main__":
    main()
