"""The default classifier works offline with real ImageNet weights."""

from __future__ import annotations

import pytest

import visiona
from visiona.results import Classification


def test_default_classifier_recognises_the_sample_photos(photos) -> None:
    cat, coffee = visiona.predict("classify", [photos["chelsea"], photos["coffee"]], top_k=3)
    assert isinstance(cat, Classification)
    assert cat.top1[0] == "Egyptian cat" and cat.top1[1] == pytest.approx(0.80, abs=0.05)
    assert coffee.top1[0] == "espresso" and coffee.top1[1] == pytest.approx(0.86, abs=0.05)
    assert cat.source == str(photos["chelsea"]) and cat.image_size == (451, 300)


def test_default_model_is_efficientnet_lite0_from_its_package() -> None:
    loaded = visiona.load_model()
    assert loaded.architecture == "efficientnet_lite0" and loaded.origin == "package"
    assert loaded.weights.preprocessing.resize == "stretch"
    assert sum(p.numel() for p in loaded.module.parameters()) == loaded.weights.num_params
