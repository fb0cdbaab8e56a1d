"""The Embeddings result and the embed task's postprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from visiona.results import Embeddings, result_from_dict
from visiona.tasks.base import ImageMeta, get_task
from visiona.weights.record import Weights


def test_round_trip_and_similarity() -> None:
    a = Embeddings(np.array([3.0, 4.0]) / 5, model="m.t", source="a.jpg", image_size=(4, 3))
    b = Embeddings(np.array([0.0, 1.0]), model="m.t")
    back = result_from_dict(a.to_dict())
    assert isinstance(back, Embeddings)
    assert back.dimension == 2 and back.source == "a.jpg" and back.image_size == (4, 3)
    np.testing.assert_allclose(back.vector, a.vector)
    assert a.similarity(b) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="cannot compare"):
        a.similarity(Embeddings(np.array([1.0, 0.0]), model="other"))


def test_validation() -> None:
    with pytest.raises(ValueError, match="unit L2 norm"):
        Embeddings(np.array([1.0, 1.0]), model="m")
    with pytest.raises(ValueError, match="NaN"):
        Embeddings(np.array([np.nan]), model="m", normalized=False)
    assert Embeddings(np.zeros(0), model="m").empty


def test_postprocess_normalises_rows_and_keeps_empty_vectors() -> None:
    task = get_task("embed")
    weights = Weights(model="m", tag="t", task="embed")
    metas = [ImageMeta("a", (4, 4)), ImageMeta("b", (4, 4))]
    results = task.postprocess(np.array([[3.0, 4.0], [0.0, 2.0]]), metas, weights)
    np.testing.assert_allclose(results[0].vector, [0.6, 0.8], atol=1e-6)
    assert results[1].normalized and results[0].model == "m.t"
    raw = task.postprocess([np.array([2.0, 0.0]), np.zeros(0)], metas, weights, normalize=False)
    assert raw[0].vector.tolist() == [2.0, 0.0] and raw[1].empty and not raw[1].normalized


def test_draw_returns_a_new_image() -> None:
    image = np.zeros((40, 60, 3), np.uint8)
    drawn = Embeddings(np.array([0.6, -0.8]), model="m").draw(image)
    assert drawn.shape == image.shape and drawn.any() and not image.any()
