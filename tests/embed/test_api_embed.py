"""The Python twins: ``visiona.embed`` and ``visiona.train(..., head=...)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import visiona
from tests_support import write_colour_folder


def test_embed_arrays_and_compare() -> None:
    red = np.zeros((48, 48, 3), np.uint8)
    red[..., 0] = 220
    blue = red[..., ::-1].copy()
    a, b, c = visiona.embed([red, red.copy(), blue], device="cpu")
    assert isinstance(a, visiona.Embeddings) and a.dimension == 1280 and a.normalized
    assert a.similarity(b) > 0.999 > a.similarity(c)


def test_train_a_light_head_from_python(tmp_path: Path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=4, size=24)
    result = visiona.train(
        "classify", data=data, head="knn", k=3, project=str(tmp_path / "runs"), progress=False
    )
    assert result.best_checkpoint.is_file() and result.best_metrics["val/acc"] >= 0.99
    [top] = visiona.predict("classify", data / "green" / "0.png", model=result.best_checkpoint)
    assert top.top1[0] == "green"
