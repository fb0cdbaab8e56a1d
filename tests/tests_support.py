"""Helpers shared by test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {"blue": (30, 30, 210), "green": (30, 200, 30), "red": (210, 30, 30)}


def write_colour_folder(root: Path, per_class: int = 10, size: int = 20, seed: int = 0) -> Path:
    """``root/<blue|green|red>/<i>.png``: noisy solid-colour images, an easy 3-class dataset."""
    rng = np.random.default_rng(seed)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            noise = rng.normal(0, 35, (size, size, 3))
            pixels = np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{index}.png")
    return root


def interrupt_at_epoch(epoch: int):
    """A Lightning callback that presses Ctrl-C when epoch ``epoch`` (0-based) starts."""
    import lightning.pytorch as pl  # here, not at import: Lightning takes seconds to import

    class InterruptAtEpoch(pl.Callback):
        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            if trainer.current_epoch == epoch:
                raise KeyboardInterrupt

    return InterruptAtEpoch()
