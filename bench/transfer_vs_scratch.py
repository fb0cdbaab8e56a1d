"""Transfer learning vs training from scratch on a small Fashion-MNIST budget, in one run.

Both get the same training images (``--per-class`` per class from Fashion-MNIST's official training
split), the same number of epochs and batch size, and are scored on the same held-out test images:

* scratch:  the course CNN (``cnn``, 32 px, all layers trained);
* transfer: pretrained EfficientNet-Lite0 with a frozen backbone and a new head (``--image-size``).

Needs the Debian package dataset-fashion-mnist (`make data-packages`).
Usage: .venv/bin/python bench/transfer_vs_scratch.py [--per-class 300] [--epochs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=96)
    args = parser.parse_args()

    from visiona.data.builders import make_dataset
    from visiona.data.folder import scan_folder
    from visiona.engine.evaluate.classify import evaluate_classifier
    from visiona.engine.train.config import TrainConfig
    from visiona.engine.train.fit import train_classifier
    from visiona.models.load import load_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_dataset("fashion-mnist", root / "train_data", limit_per_class=args.per_class,
                     progress=False)  # fmt: skip
        make_dataset("fashion-mnist", root / "test_data", limit_per_class=args.test_per_class,
                     seed=1, progress=False)  # fmt: skip
        train_dir, test_dir = root / "train_data" / "train", root / "test_data" / "test"
        common = {"data": str(train_dir), "project": str(root / "runs"), "epochs": args.epochs,
                  "batch_size": args.batch_size, "seed": 0, "augment": "none", "hflip": False}  # fmt: skip
        setups = {
            "scratch (cnn, 32 px)": TrainConfig(**common, name="scratch", model="cnn", lr=3e-3),
            f"transfer (efficientnet_lite0 frozen, {args.image_size} px)": TrainConfig(
                **common,
                name="transfer",
                model="efficientnet_lite0",
                pretrained=True,
                freeze="backbone",
                image_size=args.image_size,
                lr=3e-3,
            ),
        }
        rows = []
        for label, config in setups.items():
            start = time.perf_counter()
            result = train_classifier(config, progress=False)
            seconds = time.perf_counter() - start
            model = load_model(result.best_checkpoint)
            samples = scan_folder(test_dir, classes=model.weights.class_names).samples
            report = evaluate_classifier(model, samples, batch_size=64)
            rows.append((label, report.accuracy, seconds, report.num_images))
    train_images = 10 * args.per_class * 0.8
    print(f"Fashion-MNIST: {train_images:.0f} training images (80 % of {args.per_class}/class), "
          f"{args.epochs} epochs, batch {args.batch_size}; test {rows[0][3]} images")  # fmt: skip
    for label, accuracy, seconds, _ in rows:
        print(f"  {label:48s} test accuracy {accuracy:.2%}   train time {seconds:5.0f} s")


if __name__ == "__main__":
    main()
