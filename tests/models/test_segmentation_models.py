"""Segmentation models: unet_tiny, smp architectures, the offline pretrained Lite0 encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visiona.errors import UsageError, WeightsUnavailableError
from visiona.models.load import load_model


def test_unet_tiny_keeps_the_input_size_and_checks_options() -> None:
    loaded = load_model("unet_tiny", task="segment", pretrained=False, num_classes=3,
                        arch_options={"width": "4", "depth": "2"})  # fmt: skip
    with torch.inference_mode():
        assert loaded.module(torch.zeros(2, 3, 32, 64)).shape == (2, 3, 32, 64)
    assert loaded.weights.preprocessing.resize == "none"
    with pytest.raises(UsageError, match="unknown unet_tiny option 'blocks'"):
        load_model("unet_tiny", task="segment", pretrained=False, arch_options={"blocks": 2})


def test_unet_on_the_packaged_lite0_encoder_works_offline() -> None:
    from visiona.models.segmentation import load_pretrained_encoder

    loaded = load_model("unet", task="segment", pretrained=False, num_classes=2,
                        arch_options={"encoder": "efficientnet_lite0"})  # fmt: skip
    before = loaded.module.encoder.stem[0].weight.detach().clone()
    note = load_pretrained_encoder(loaded.module, loaded.arch_options, None)
    assert "efficientnet_lite0.imagenet1k" in note
    after = loaded.module.encoder.stem[0].weight
    assert not torch.equal(before, after)
    with torch.inference_mode():
        assert loaded.module.eval()(torch.zeros(1, 3, 64, 96)).shape == (1, 2, 64, 96)


def test_missing_weights_fail_fast_offline() -> None:
    with pytest.raises(WeightsUnavailableError):
        load_model("lraspp_mobilenet_v3_large", task="segment")
    from visiona.models.segmentation import load_pretrained_encoder

    loaded = load_model("fpn", task="segment", pretrained=False, num_classes=2)
    with pytest.raises(WeightsUnavailableError, match="efficientnet_lite0"):
        load_pretrained_encoder(loaded.module, loaded.arch_options, None)


def test_predictor_roi_marks_outside_pixels_ignored() -> None:
    from visiona.engine.predict.predictor import Predictor

    loaded = load_model("unet_tiny", task="segment", pretrained=False, num_classes=2,
                        arch_options={"width": 4, "depth": 2})  # fmt: skip
    image = np.zeros((40, 60, 3), np.uint8)
    (result,) = Predictor(loaded, workers=0, roi="box:10,5,50,35").predict(image)
    assert result.class_map.shape == (40, 60)
    assert (result.class_map[:5] == 255).all() and (result.class_map[5:35, 10:50] < 2).all()
