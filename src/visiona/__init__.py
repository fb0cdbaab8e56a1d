"""visiona: an offline-first computer-vision lab — one API, CLI and server over every task.

Importing visiona is cheap and has no side effects; heavy libraries (torch, timm) load on first use.

>>> import visiona
>>> results = visiona.predict("classify", "cat.jpg")
>>> results[0].top1
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "predict": "visiona.api",
    "load_model": "visiona.api",
    "list_models": "visiona.api",
    "train": "visiona.api",
    "explain": "visiona.api",
    "embed": "visiona.api",
    "Predictor": "visiona.engine.predict.predictor",
    "PerceptionPredictor": "visiona.engine.predict.packaged",
    "Classification": "visiona.results",
    "Detections": "visiona.results",
    "Explanation": "visiona.results",
    "Embeddings": "visiona.results",
    "Faces": "visiona.results",
    "Keypoints": "visiona.results",
    "Matte": "visiona.results",
    "Result": "visiona.results",
    "result_from_dict": "visiona.results",
    "Weights": "visiona.weights",
    "Preprocessing": "visiona.weights",
    "load_image": "visiona.io.images",
    "VisionaError": "visiona.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'visiona' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
