"""Helpers shared by test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import numpy as np
import pytest
from PIL import Image

TESTS = Path(__file__).resolve().parent
NET_GUARD = TESTS / "net_guard"
SRC = TESTS.parent / "src"
CHROMIUM = Path("/usr/bin/chromium")

# Set to isolated folders by tests/conftest.py for each test; a subprocess inherits them.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1"}
REMOVED_ENV = ("VISIONA_OFFLINE", "HF_ENDPOINT", "VISIONA_MAX_PIXELS")


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set (to anything but ``""``/``0``/``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def missing(what: str, install: str) -> NoReturn:
    """Skip a test whose package/browser/data is not installed; under ``CI`` fail it instead.

    A local run may lack optional packages, but in CI a skip would hide a broken install step
    (the install scripts never fail), so the run must go red.
    """
    message = f"{what} is not installed ({install})"
    if in_ci():
        pytest.fail(f"CI is set and {message}: an install step is broken", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, install: str | None = None) -> ModuleType:
    """Import ``name``, or :func:`missing` (skip locally, fail under ``CI``). Module level is fine."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        if install is None:
            from visiona.models.packaged import INSTALL_COMMANDS

            top = name.split(".")[0]
            install = INSTALL_COMMANDS.get(top, f"pip install {top}")
        missing(f"{name} ({error})", install)


def require_browser() -> Path:
    """Debian's Chromium that Playwright drives, or :func:`missing`."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(
            f"Chromium at {CHROMIUM}", "apt-get install -y chromium; scripts/install_chromium.sh"
        )
    return CHROMIUM


def requirement_setup(item: pytest.Item) -> None:
    """``pytest_runtest_setup`` hook: enforce ``@pytest.mark.requires(...)`` with :func:`missing`.

    ``requires(modules=(...), packaged=(...))``: importable modules and installed packaged
    model files (``visiona.models.packaged.PACKAGED_WEIGHTS`` names).
    """
    for mark in item.iter_markers("requires"):
        for module in mark.kwargs.get("modules", ()):
            require_module(module)
        for name in mark.kwargs.get("packaged", ()):
            from visiona.models.packaged import PACKAGED_WEIGHTS
            from visiona.weights.resolve import find_local

            if find_local(PACKAGED_WEIGHTS[name]) is None:
                missing(f"packaged model {name}", "make perception-packages")


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every process a test starts: offline, network-guarded, these sources.

    The current environment (with the per-test ``VISIONA_HOME``/``TORCH_HOME``/``HF_HOME`` set by
    ``tests/conftest.py``), plus ``HF_HUB_OFFLINE=1``, minus variables that would change behaviour,
    with ``tests/net_guard`` (its ``sitecustomize`` refuses non-loopback connections and name
    lookups) and ``src`` first on ``PYTHONPATH``; then ``extra``.
    """
    env = {k: v for k, v in os.environ.items() if k not in REMOVED_ENV}
    env.update(OFFLINE_ENV)
    paths = [str(NET_GUARD), str(SRC), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


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
