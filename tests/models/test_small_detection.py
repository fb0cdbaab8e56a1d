"""The small from-scratch detectors: shapes of outputs, options, class numbering."""

from __future__ import annotations

import pytest
import torch

from visiona.errors import UsageError
from visiona.models.catalog import get_spec
from visiona.models.small_backbone import SmallBackbone


def test_backbone_gives_two_pyramid_levels() -> None:
    features = SmallBackbone(16)(torch.zeros(2, 3, 64, 96))
    assert list(features) == ["0", "1"]
    assert features["0"].shape == (2, 16, 8, 12)
    assert features["1"].shape == (2, 16, 4, 6)


@pytest.mark.parametrize(
    ("name", "extra"),
    [("fasterrcnn_small", None), ("maskrcnn_small", "masks"), ("keypointrcnn_small", "keypoints")],
)
def test_small_detectors_train_and_predict(name: str, extra: str | None) -> None:
    spec, _ = get_spec(name)
    options = {"width": "16", "min_size": "64"}  # strings, as --arch-opt gives them
    if extra == "keypoints":
        options["num_keypoints"] = 3
    model = spec.build(2, None, **options)
    target = {"boxes": torch.tensor([[4.0, 4.0, 30.0, 40.0]]), "labels": torch.tensor([2])}
    if extra == "masks":
        target["masks"] = torch.zeros(1, 64, 64, dtype=torch.uint8)
        target["masks"][0, 4:40, 4:30] = 1
    if extra == "keypoints":
        target["keypoints"] = torch.tensor([[[10.0, 10.0, 2], [20.0, 20.0, 2], [0, 0, 0]]])
    losses = model.train()([torch.rand(3, 64, 64)], [target])
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    output = model.eval()([torch.rand(3, 64, 64)])[0]
    # Two object classes plus torchvision's background: labels stay in 1..2.
    assert model.roi_heads.box_predictor.cls_score.out_features == 3
    assert set(output) >= {"boxes", "labels", "scores"}
    if extra:
        assert extra in output


def test_bad_options_are_usage_errors() -> None:
    spec, _ = get_spec("fasterrcnn_small")
    with pytest.raises(UsageError, match="takes no option 'depth'"):
        spec.build(2, None, depth=3)
    with pytest.raises(UsageError, match="must be a number"):
        spec.build(2, None, width="wide")
    with pytest.raises(UsageError, match="multiple of 4"):
        spec.build(2, None, width=10)
    with pytest.raises(UsageError, match="keypointrcnn_small"):
        spec.build(2, None, num_keypoints=3)
    assert spec.preprocessing_for({"min_size": "96"}).input_size == (96, 96)
