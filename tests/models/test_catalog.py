"""The catalogue: curated, torchvision and timm models by name, random init and tags."""

from __future__ import annotations

import pytest
import torch

from visiona.errors import UnknownNameError, UsageError, WeightsUnavailableError
from visiona.models.catalog import get_spec, list_specs
from visiona.models.load import load_model


@pytest.mark.parametrize(
    ("name", "family"),
    [("efficientnet_lite0", "efficientnet-lite"), ("resnet18", "torchvision"),
     ("torchvision/mobilenet_v3_small", "torchvision"), ("timm/resnet18", "timm"),
     ("convnext_atto", "timm"), ("test_classifier", "visiona")],
)  # fmt: skip
def test_names_resolve_to_their_family(name: str, family: str) -> None:
    spec, tag = get_spec(name)
    assert spec.family == family and tag is None


@pytest.mark.parametrize(
    "name", ["resnet18", "mobilenet_v3_small", "timm/convnext_atto", "efficientnet_lite0"]
)
def test_random_init_builds_and_runs(name: str) -> None:
    loaded = load_model(name, pretrained=False, num_classes=7)
    assert loaded.origin == "random" and len(loaded.weights.class_names) == 7
    with torch.no_grad():
        out = loaded.module(
            torch.randn(1, 3, 224 if "lite" in name else 96, 224 if "lite" in name else 96)
        )
    assert out.shape == (1, 7)


def test_torchvision_weights_records_carry_metadata() -> None:
    spec, _ = get_spec("resnet50")
    default = spec.weights_for(None)
    assert default.tag == "imagenet1k_v2"  # torchvision's DEFAULT comes first
    assert default.sha256 == "11ad3fa6"
    assert default.preprocessing.resize_size == 232 and default.preprocessing.input_size == (
        224,
        224,
    )
    assert default.class_names[0] == "tench" and len(default.class_names) == 1000
    assert default.metrics["imagenet-1k/acc@1"] == pytest.approx(80.858)
    assert spec.weights_for("imagenet1k_v1").urls[0].endswith("resnet50-0676ba61.pth")


def test_timm_weights_records_point_at_the_hub() -> None:
    spec, tag = get_spec("timm/resnet18.a1_in1k")
    record = spec.weights_for(tag)
    assert record.urls == ("hf://timm/resnet18.a1_in1k@main/model.safetensors",)
    assert record.preprocessing.interpolation == "bicubic"
    assert record.preprocessing.resize_size == 235  # 224 / crop_pct 0.95
    assert record.license == "apache-2.0" and record.class_names[1] == "goldfish"


def test_unknown_names_and_tags() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'resnet18'"):
        get_spec("resnet19")
    spec, tag = get_spec("resnet18.nonexistent")
    with pytest.raises(
        UnknownNameError, match="no weights tagged 'nonexistent'; known: imagenet1k_v1"
    ):
        spec.weights_for(tag)


def test_pretrained_download_offline_names_the_fix() -> None:
    with pytest.raises(WeightsUnavailableError, match=r"weights for 'resnet18\.imagenet1k_v1'"):
        load_model("resnet18")


def test_random_init_with_a_tag_is_contradictory() -> None:
    with pytest.raises(UsageError, match="random init"):
        load_model("resnet18.imagenet1k_v1", pretrained=False)


def test_list_specs_by_source_and_glob() -> None:
    names = [s.name for s in list_specs("resnet1*", ["torchvision"])]
    assert names == ["resnet101", "resnet152", "resnet18"]
    assert [s.name for s in list_specs("*", ["visiona"])] == [
        "cnn",
        "efficientnet_lite0",
        "fasterrcnn_small",
        "keypointrcnn_small",
        "maskrcnn_small",
        "test_classifier",
        "test_gated_classifier",
    ]
    with pytest.raises(UnknownNameError, match="unknown model source"):
        list_specs("*", ["keras"])
