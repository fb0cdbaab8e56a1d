"""Tiny models for tests and smoke runs: milliseconds on a CPU, random init."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.models.spec import ModelSpec
from visiona.weights.record import Preprocessing

if TYPE_CHECKING:
    from torch import nn

TINY_PREPROCESSING = Preprocessing(
    input_size=(32, 32), resize="stretch", resize_size=None, mean=(0.5,) * 3, std=(0.5,) * 3
)


def build_tiny_classifier(num_classes: int, weights_file: Path | None) -> nn.Module:
    """Two conv blocks and a linear head: ``(N, 3, H, W)`` → logits ``(N, num_classes)``."""
    from torch import nn

    from visiona.weights.loading import load_state_dict

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, num_classes),
    )
    if weights_file is not None:
        model.load_state_dict(load_state_dict(weights_file))
    return model


GATE_ENV = "VISIONA_TEST_GATE"
"""A folder: ``test_gated_classifier`` waits there for files the test creates (unset: no waiting)."""
GATE_TIMEOUT_S = 120.0


def wait_at_gate(name: str) -> None:
    """Block until the file ``$VISIONA_TEST_GATE/name`` exists (a test opens the gate).

    Writes ``name.waiting`` first so the test knows the model reached the gate. Without the
    variable it returns at once; after ``GATE_TIMEOUT_S`` it raises so nothing hangs forever.
    """
    folder = os.environ.get(GATE_ENV)
    if not folder:
        return
    gate = Path(folder)
    (gate / f"{name}.waiting").touch()
    deadline = time.monotonic() + GATE_TIMEOUT_S
    while not (gate / name).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"test gate {gate / name} was never opened")
        time.sleep(0.005)


def build_gated_classifier(num_classes: int, weights_file: Path | None) -> nn.Module:
    """The tiny classifier whose load and forward passes wait at a test's gate (``GATE_ENV``).

    Loading waits for the file ``load``; each forward pass appends its batch size to
    ``forward.log``, then waits for ``forward``. Tests use it to hold a server in the "loading"
    state or a batch in flight for as long as they need, instead of racing a clock.
    """
    from torch import nn

    wait_at_gate("load")
    inner = build_tiny_classifier(num_classes, weights_file)

    class GatedClassifier(nn.Sequential):
        def forward(self, x):  # (N, 3, H, W) -> (N, num_classes)
            folder = os.environ.get(GATE_ENV)
            if folder:
                with open(Path(folder) / "forward.log", "a") as log:
                    log.write(f"{x.shape[0]}\n")
            wait_at_gate("forward")
            return super().forward(x)

    return GatedClassifier(*inner)


SPEC = ModelSpec(
    name="test_classifier",
    task="classify",
    family="visiona",
    build=build_tiny_classifier,
    preprocessing=TINY_PREPROCESSING,
    num_classes=10,
    description="tiny 2-layer CNN for tests (random init, 32 px)",
)

GATED_SPEC = ModelSpec(
    name="test_gated_classifier",
    task="classify",
    family="visiona",
    build=build_gated_classifier,
    preprocessing=TINY_PREPROCESSING,
    num_classes=10,
    description="test_classifier that waits at a test's gate ($VISIONA_TEST_GATE) to load/run",
)
