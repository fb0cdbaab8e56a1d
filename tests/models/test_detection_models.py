"""torchvision detectors in the catalogue: random init, COCO records, weights files, new heads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from visiona.errors import UsageError, WeightsError, WeightsUnavailableError
from visiona.models.catalog import DEFAULT_MODELS, get_spec, list_specs
from visiona.models.detection_heads import replace_detection_head
from visiona.models.load import load_model
from visiona.models.torchvision_detection import DETECTION_MODELS, detection_names

SLOW = {"ssd300_vgg16", "keypointrcnn_resnet50_fpn"}  # VGG-16 alone takes ~4 s to initialise

# Small internal resize and few candidates keep random-init forward passes fast on a CPU.
_SMALL = {
    "min_size": 96, "max_size": 128, "rpn_pre_nms_top_n_test": 100, "rpn_post_nms_top_n_test": 20,
    "box_detections_per_img": 5, "box_score_thresh": 0.0, "detections_per_img": 5,
    "score_thresh": 0.0,
}  # fmt: skip


def small_options(name: str) -> dict[str, float]:
    """The subset of the fast test options a detector accepts."""
    return {k: v for k, v in _SMALL.items() if k in DETECTION_MODELS[name]["options"]}


def _params(names: list[str]) -> list[object]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def test_names_are_torchvision_detectors() -> None:
    import torchvision.models

    assert set(detection_names()) <= set(
        torchvision.models.list_models(torchvision.models.detection)
    )
    assert len(detection_names()) == 12
    assert DEFAULT_MODELS["detect"] == "fasterrcnn_mobilenet_v3_large_320_fpn"
    spec, tag = get_spec("torchvision/maskrcnn_resnet50_fpn.coco_v1")
    assert (spec.name, spec.task, spec.family, tag) == (
        "maskrcnn_resnet50_fpn", "segment-instances", "torchvision", "coco_v1",
    )  # fmt: skip
    assert get_spec("keypointrcnn_resnet50_fpn")[0].task == "keypoints"
    listed = [s.name for s in list_specs("fasterrcnn_*", ["torchvision"])]
    assert "fasterrcnn_resnet50_fpn_v2" in listed and len(listed) == 4
    assert [s.name for s in list_specs("*rcnn*", ["visiona"])] == [
        "fasterrcnn_small", "keypointrcnn_small", "maskrcnn_small",
    ]  # fmt: skip


@pytest.mark.parametrize("name", _params(list(detection_names())))
def test_random_init_builds_and_detects(name: str) -> None:
    spec, _ = get_spec(name)
    torch.manual_seed(0)
    loaded = load_model(
        name, task=spec.task, pretrained=False, num_classes=2, arch_options=small_options(name)
    )
    assert loaded.origin == "random" and loaded.weights.class_names == ("class_0", "class_1")
    assert loaded.weights.preprocessing.resize == "none"
    assert not loaded.module.training
    with torch.no_grad():
        [output] = loaded.module([torch.rand(3, 64, 96)])
    count = len(output["boxes"])
    assert output["boxes"].shape == (count, 4) and output["scores"].shape == (count,)
    # torchvision labels: 0 is the background, object classes are 1..num_classes; the dense
    # heads (RetinaNet, FCOS) also score the background output, so 0 can appear at threshold 0.
    lowest = 0 if name.startswith(("retinanet", "fcos")) else 1
    assert all(lowest <= label <= 2 for label in output["labels"].tolist())
    if spec.task == "segment-instances":
        assert output["masks"].shape == (count, 1, 64, 96)
    if spec.task == "keypoints":
        assert output["keypoints"].shape == (count, 17, 3)


@pytest.mark.parametrize("name", list(detection_names()))
def test_coco_weights_records(name: str) -> None:
    spec, _ = get_spec(name)
    record = spec.weights_for(None)
    assert record.task == spec.task and record.file_format == "pth"
    assert record.urls[0].startswith("https://download.pytorch.org/models/")
    assert record.sha256 and record.urls[0].endswith(f"-{record.sha256}.pth")
    assert record.license == "BSD-3-Clause" and record.num_params > 1_000_000
    assert record.metrics["coco-val2017/box_map"] > 20
    assert record.preprocessing.resize == "none" and record.preprocessing.mean == (0, 0, 0)
    assert record.preprocessing.std == (1, 1, 1)
    assert record.class_names[0] == "person"  # the background is not a class
    assert record.num_classes == spec.num_classes


def test_coco_record_details() -> None:
    record = get_spec("fasterrcnn_mobilenet_v3_large_320_fpn")[0].weights_for(None)
    assert record.full_name == "fasterrcnn_mobilenet_v3_large_320_fpn.coco_v1"
    assert record.sha256 == "907ea3f9" and record.metrics["coco-val2017/box_map"] == 22.8
    assert record.preprocessing.input_size == (320, 320)
    # Class id = COCO category id - 1; unused COCO ids keep torchvision's "N/A".
    assert len(record.class_names) == 90
    assert record.class_names[2] == "car" and record.class_names[11] == "N/A"
    assert record.class_names[89] == "toothbrush"
    masks = get_spec("maskrcnn_resnet50_fpn")[0].weights_for(None)
    assert masks.metrics["coco-val2017/mask_map"] == 34.6
    keypoints = get_spec("keypointrcnn_resnet50_fpn")[0]
    assert [w.tag for w in keypoints.weights] == ["coco_v1", "coco_legacy"]
    assert keypoints.weights_for(None).class_names == ("person",)
    assert keypoints.weights_for(None).metrics["coco-val2017/kp_map"] == 65.0


def test_pretrained_offline_names_the_fix() -> None:
    with pytest.raises(WeightsUnavailableError, match="fasterrcnn_mobilenet_v3_large_320_fpn"):
        load_model(task="detect")


def test_coco_record_with_a_local_weights_file(tmp_path: Path) -> None:
    """``--weights FILE`` with a catalogue name: COCO class names, trained (frozen-norm) build."""
    from torchvision.ops import FrozenBatchNorm2d

    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    spec, _ = get_spec(name)
    torch.manual_seed(0)
    stand_in = spec.build(90, None)
    file = tmp_path / "coco.pth"
    torch.save(stand_in.state_dict(), file)
    loaded = load_model(name, task="detect", weights_file=file)
    assert loaded.origin == "file" and loaded.weights.full_name == f"{name}.coco_v1"
    assert loaded.weights.class_names[0] == "person"
    assert any(isinstance(m, FrozenBatchNorm2d) for m in loaded.module.modules())
    reloaded = loaded.module.state_dict()
    for key, value in stand_in.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(reloaded[key], value), key


def test_weights_file_with_other_classes_is_a_clear_error(tmp_path: Path) -> None:
    name = "ssdlite320_mobilenet_v3_large"
    file = tmp_path / "three.pth"
    torch.save(get_spec(name)[0].build(3, None).state_dict(), file)
    with pytest.raises(WeightsError, match="does not fit ssdlite320_mobilenet_v3_large"):
        load_model(name, task="detect", weights_file=file)  # the COCO record has 90 classes


def test_task_and_option_mistakes() -> None:
    with pytest.raises(UsageError, match="solves 'segment-instances', not 'detect'"):
        load_model("maskrcnn_resnet50_fpn", task="detect", pretrained=False)
    with pytest.raises(UsageError, match="takes no option 'blocks'"):
        load_model("ssdlite320_mobilenet_v3_large", task="detect", pretrained=False,
                   arch_options={"blocks": 3})  # fmt: skip
    with pytest.raises(UsageError, match="must be a number"):
        load_model("fcos_resnet50_fpn", task="detect", pretrained=False,
                   arch_options={"min_size": "big"})  # fmt: skip
    spec, _ = get_spec("fasterrcnn_resnet50_fpn")
    assert spec.preprocessing_for({"min_size": 512}).input_size == (512, 512)


def test_frozen_norm_follows_the_weights_file(tmp_path: Path) -> None:
    from torchvision.ops import FrozenBatchNorm2d

    spec, _ = get_spec("fasterrcnn_mobilenet_v3_large_320_fpn")
    random = spec.build(2, None)
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in random.modules())
    file = tmp_path / "w.pth"
    torch.save(random.state_dict(), file)
    trained = spec.build(2, file)
    frozen = [m for m in trained.modules() if isinstance(m, FrozenBatchNorm2d)]
    assert frozen and all(m.eps == 1e-5 for m in frozen)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(random.eval().backbone(x)["0"], trained.eval().backbone(x)["0"])
    assert not any(
        isinstance(m, FrozenBatchNorm2d) for m in spec.build(2, file, frozen_norm=False).modules()
    )


@pytest.mark.slow
def test_trained_structure_matches_torchvision(tmp_path: Path) -> None:
    """With a weights file, the builder rebuilds torchvision's own pretrained structure."""
    from torchvision.models import resnet50
    from torchvision.models.detection._utils import overwrite_eps
    from torchvision.models.detection.faster_rcnn import FasterRCNN, _resnet_fpn_extractor
    from torchvision.ops import FrozenBatchNorm2d

    torch.manual_seed(0)
    options = {"min_size": 96, "max_size": 128, "box_score_thresh": 0.0}
    reference = FasterRCNN(
        _resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3), 3, **options
    )
    overwrite_eps(reference, 0.0)  # what torchvision does for these COCO weights
    for module in reference.modules():
        if isinstance(module, FrozenBatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
    file = tmp_path / "reference.pth"
    torch.save(reference.state_dict(), file)
    ours = get_spec("fasterrcnn_resnet50_fpn")[0].build(2, file, **options)
    image = [torch.rand(3, 80, 100)]
    with torch.no_grad():
        expected, actual = reference.eval()(image)[0], ours.eval()(image)[0]
    assert len(expected["boxes"]) and torch.equal(expected["boxes"], actual["boxes"])
    assert torch.equal(expected["scores"], actual["scores"])


def _targets(count: int) -> list[dict[str, torch.Tensor]]:
    mask = torch.zeros(1, 64, 80, dtype=torch.uint8)
    mask[0, 5:40, 5:40] = 1
    target = {
        "boxes": torch.tensor([[5.0, 5.0, 40.0, 40.0]]),
        "labels": torch.tensor([3]),
        "masks": mask,
        "keypoints": torch.tensor([[[10.0, 10.0, 1.0]] * 17]),
    }
    return [dict(target) for _ in range(count)]


@pytest.mark.parametrize(
    ("name", "layer"),
    [("fasterrcnn_mobilenet_v3_large_320_fpn", "roi_heads.box_predictor.cls_score"),
     ("retinanet_resnet50_fpn_v2", "head.classification_head.cls_logits"),
     ("fcos_resnet50_fpn", "head.classification_head.cls_logits"),
     ("ssdlite320_mobilenet_v3_large", "head.classification_head.module_list.0.1"),
     ("maskrcnn_resnet50_fpn", "roi_heads.mask_predictor.mask_fcn_logits")],
)  # fmt: skip
def test_replace_detection_head_then_train_step(name: str, layer: str) -> None:
    spec, _ = get_spec(name)
    torch.manual_seed(0)
    model = spec.build(90, None, **small_options(name))
    backbone_before = next(model.backbone.parameters()).clone()
    assert replace_detection_head(model, 3) is model
    assert next(model.backbone.parameters()).equal(backbone_before)  # only the head changed
    out_units = model.get_submodule(layer)
    units = getattr(out_units, "out_features", None) or out_units.out_channels
    assert units % 4 == 0 and units < 90  # 3 classes + background (per anchor)
    model.train()
    losses = model([torch.rand(3, 64, 80), torch.rand(3, 64, 80)], _targets(2))
    assert all(torch.isfinite(value) for value in losses.values())
    model.eval()
    with torch.no_grad():
        [output] = model([torch.rand(3, 64, 80)])
    assert all(0 <= label <= 3 for label in output["labels"].tolist())


def test_replace_head_refuses_other_models() -> None:
    with pytest.raises(UsageError, match="cannot replace the head of Linear"):
        replace_detection_head(torch.nn.Linear(2, 2), 3)
    model = get_spec("ssdlite320_mobilenet_v3_large")[0].build(2, None)
    with pytest.raises(UsageError, match="at least one object class"):
        replace_detection_head(model, 0)
    with pytest.raises(UsageError, match="Keypoint R-CNN only"):
        replace_detection_head(model, 2, num_keypoints=5)
