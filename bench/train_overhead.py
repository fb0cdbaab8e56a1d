"""Training throughput: `visiona train` (Lightning) vs a bare PyTorch loop, same everything.

Both train the same from-scratch CNN on the same generated image folder with the same
DataLoader, batch size, optimizer and number of epochs, and both run a validation pass per epoch;
visiona additionally writes its checkpoints and logs. Runs alternate (bare, visiona, bare, ...) so
machine noise hits both alike; the overhead is the ratio of median epoch-seconds.

Usage: .venv/bin/python bench/train_overhead.py [--images-per-class 200] [--epochs 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def make_folder(root: Path, classes: int, per_class: int, size: int = 32) -> Path:
    rng = np.random.default_rng(0)
    for label in range(classes):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True)
        colour = rng.integers(0, 255, 3)
        for index in range(per_class):
            pixels = np.clip(colour + rng.normal(0, 60, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{index}.png")
    return root


def bare_loop(config, epochs: int) -> float:
    """The same work written as a plain PyTorch loop; returns seconds per epoch."""
    from visiona.data.folder import load_splits
    from visiona.engine.train.fit import _loaders, _prepare_model
    from visiona.engine.train.module import seed_for_epoch

    splits = load_splits(config.data, seed=config.seed)
    seed_for_epoch(config.seed, -1)
    loaded, preprocessing = _prepare_model(config, splits.classes)
    network = loaded.module.train()
    train_loader, val_loader = _loaders(config, preprocessing, splits.train, splits.val)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(epochs):
        train_loader.sampler.set_epoch(epoch)
        network.train()
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(network(images), labels)
            loss.backward()
            optimizer.step()
        network.eval()
        with torch.inference_mode():
            for images, labels in val_loader:
                loss_fn(network(images), labels)
    return (time.perf_counter() - start) / epochs


def visiona_run(config, epochs: int) -> float:
    """`visiona train` through its Python entry point; returns seconds per fitted epoch."""
    import lightning.pytorch as pl

    from visiona.engine.train.fit import train_classifier

    class EpochTimer(pl.Callback):
        def on_train_start(self, trainer, module):
            self.start = time.perf_counter()

        def on_train_end(self, trainer, module):
            self.seconds = time.perf_counter() - self.start

    timer = EpochTimer()
    config.epochs = epochs
    train_classifier(config, progress=False, callbacks=[timer])
    return timer.seconds / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images-per-class", type=int, default=200)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    from visiona.engine.train.config import TrainConfig

    with tempfile.TemporaryDirectory() as tmp:
        data = make_folder(Path(tmp) / "data", args.classes, args.images_per_class)

        def config() -> TrainConfig:
            return TrainConfig(
                data=str(data), project=str(Path(tmp) / "runs"), batch_size=args.batch_size,
                augment="none", schedule="none", epochs=args.epochs, seed=0,
            )  # fmt: skip

        bare_times, visiona_times = [], []
        visiona_run(config(), 1)  # warm-up: imports, first-touch allocations
        for _ in range(args.repeats):
            bare_times.append(bare_loop(config(), args.epochs))
            visiona_times.append(visiona_run(config(), args.epochs))
    images = int(args.classes * args.images_per_class * 0.8)
    bare, ours = statistics.median(bare_times), statistics.median(visiona_times)
    print(
        f"train images {images}, batch {args.batch_size}, epochs {args.epochs}, repeats {args.repeats}"
    )
    print(f"bare PyTorch loop   {bare:6.2f} s/epoch  {images / bare:7.0f} img/s")
    print(f"visiona train       {ours:6.2f} s/epoch  {images / ours:7.0f} img/s")
    print(f"overhead            {100 * (ours / bare - 1):+.1f} %  (target <= 5 %)")


if __name__ == "__main__":
    main()
