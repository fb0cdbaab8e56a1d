"""Detection postprocessing on hand-made raw outputs, and the Predictor end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visiona.engine.predict.backends import outputs_to_cpu
from visiona.engine.predict.predictor import Predictor
from visiona.errors import UsageError
from visiona.models.load import load_model
from visiona.ops.preprocess import to_tensor
from visiona.results import Detections, result_from_dict
from visiona.tasks.base import ImageMeta, get_task
from visiona.tasks.detect import DetectTask, parse_classes
from visiona.weights.record import Preprocessing, Weights

NAMES = ("cat", "dog", "bird")
WEIGHTS = Weights(model="hand", tag="made", task="detect", class_names=NAMES)
META = ImageMeta(source="a.jpg", size=(100, 80))


def raw(boxes, labels, scores, **extra) -> dict[str, torch.Tensor]:
    """A torchvision-style output dict (labels count the background as 0)."""
    output = {
        "boxes": torch.as_tensor(np.asarray(boxes), dtype=torch.float32).reshape(-1, 4),
        "labels": torch.as_tensor(np.asarray(labels), dtype=torch.int64),
        "scores": torch.as_tensor(np.asarray(scores), dtype=torch.float32),
    }
    return output | {key: torch.as_tensor(value) for key, value in extra.items()}


# Boxes 0 and 1 overlap (IoU 35² / (2·40² - 35²) = 0.62); box 2 lies elsewhere; box 3 is weak.
OUTPUT = raw(
    [[10, 10, 50, 50], [15, 15, 55, 55], [60, 20, 90, 70], [0, 0, 5, 5]],
    [1, 1, 2, 3],
    [0.9, 0.8, 0.6, 0.1],
)


def post(output=OUTPUT, meta=META, **options) -> Detections:
    [result] = DetectTask().postprocess([output], [meta], WEIGHTS, **options)
    return result


def test_defaults_map_labels_and_drop_weak_boxes() -> None:
    result = post()
    assert result.class_ids.tolist() == [0, 0, 1]  # torchvision label 1 = our class 0
    assert result.labels == ["cat", "cat", "dog"] and result.names == NAMES
    assert result.scores.tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert result.xyxy[2].tolist() == [60, 20, 90, 70]
    assert result.source == "a.jpg" and result.image_size == (100, 80)
    assert result.masks is None and result.keypoints is None


def test_conf_threshold_is_inclusive() -> None:
    assert len(post(conf=0.6)) == 3
    assert len(post(conf=0.61)) == 2
    assert len(post(conf=0.0)) == 4


@pytest.mark.parametrize(
    ("classes", "ids"),
    [(1, [1]), ("dog", [1]), ("0,bird", [0, 0, 2]), (["DOG", 2], [1, 2]), ([0, "0"], [0, 0])],
)
def test_classes_by_id_or_name(classes, ids: list[int]) -> None:
    assert post(conf=0, classes=classes).class_ids.tolist() == ids


def test_unknown_classes_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no class named 'dgo'") as error:
        post(classes="dgo")
    assert "did you mean 'dog'" in str(error.value)
    with pytest.raises(UsageError, match="class id 3 is out of range"):
        post(classes=[3])
    with pytest.raises(UsageError, match="empty"):
        post(classes=" , ")
    assert parse_classes(None, NAMES) is None


def test_iou_nms_is_class_aware_and_optional() -> None:
    assert post(iou=0.5).xyxy[:, 0].tolist() == [10, 60]  # box 1 suppressed by box 0
    assert len(post(iou=0.7)) == 3  # IoU 0.62 is below the default threshold
    assert len(post(iou=1.0)) == 3
    other_class = raw(OUTPUT["boxes"][:2], [1, 2], [0.9, 0.8])
    assert len(post(other_class, iou=0.1)) == 2  # different classes never suppress each other


def test_max_det_keeps_the_best_in_score_order() -> None:
    shuffled = raw(OUTPUT["boxes"].flip(0), [3, 2, 1, 1], [0.1, 0.6, 0.8, 0.9])
    assert post(shuffled, conf=0).scores.tolist() == pytest.approx([0.9, 0.8, 0.6, 0.1])
    assert post(shuffled, conf=0, max_det=2).scores.tolist() == pytest.approx([0.9, 0.8])


def test_masks_are_thresholded_and_filtered_with_their_boxes() -> None:
    masks = torch.zeros(4, 1, 80, 100)
    masks[0, 0, 10:50, 10:50] = 0.9
    masks[0, 0, 0:5, 0:5] = 0.5  # exactly the threshold: not part of the object
    masks[2, 0, 20:70, 60:90] = 0.7
    result = post(raw(OUTPUT["boxes"], OUTPUT["labels"], OUTPUT["scores"], masks=masks), iou=0.5)
    assert result.masks.dtype == bool and result.masks.shape == (2, 80, 100)
    assert result.masks[0].sum() == 40 * 40 and result.masks[1].sum() == 30 * 50
    assert "mask" in result.to_dict()["objects"][0]
    lenient = raw(OUTPUT["boxes"], OUTPUT["labels"], OUTPUT["scores"], masks=masks)
    assert post(lenient, mask_threshold=0.4).masks[0].sum() == 40 * 40 + 25


def test_keypoints_follow_their_detections() -> None:
    keypoints = torch.arange(4 * 2 * 3, dtype=torch.float32).reshape(4, 2, 3)
    output = raw(OUTPUT["boxes"], OUTPUT["labels"], OUTPUT["scores"], keypoints=keypoints)
    result = post(output, iou=0.5)
    assert result.keypoints.shape == (2, 2, 3)
    assert result.keypoints[1].tolist() == keypoints[2].tolist()


def test_roi_offsets_map_back_to_the_whole_image() -> None:
    roi_meta = ImageMeta(source="a.jpg", size=(200, 150), roi=(50, 40, 150, 120))
    masks = torch.zeros(4, 1, 80, 100)
    masks[2, 0, 0:10, 0:20] = 1
    keypoints = torch.zeros(4, 1, 3)
    keypoints[2, 0] = torch.tensor([5.0, 6.0, 1.0])
    output = raw(
        OUTPUT["boxes"], OUTPUT["labels"], OUTPUT["scores"], masks=masks, keypoints=keypoints
    )
    result = post(output, meta=roi_meta, classes="dog")
    assert result.xyxy.tolist() == [[110, 60, 140, 110]]
    assert result.masks.shape == (1, 150, 200)
    assert result.masks[0, 40:50, 50:70].all() and result.masks[0].sum() == 200
    assert result.keypoints[0, 0].tolist() == [55, 46, 1]
    assert result.image_size == (200, 150)


def test_empty_and_background_outputs() -> None:
    empty = raw(np.zeros((0, 4)), [], [], masks=torch.zeros(0, 1, 80, 100))
    result = post(empty)
    assert len(result) == 0 and result.masks.shape == (0, 80, 100)
    background = raw([[0, 0, 10, 10]], [0], [0.99])  # dense heads may score the background
    assert len(post(background)) == 0
    with pytest.raises(ValueError, match="outputs class id 3 but its record names 3"):
        post(raw([[0, 0, 10, 10]], [4], [0.99]))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"conf": 1.5}, "conf must be"), ({"iou": -0.1}, "iou must be"),
     ({"max_det": 0}, "max_det must be"), ({"top_k": 3}, "does not take option")],
)  # fmt: skip
def test_bad_options(options, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        post(**options)
    with pytest.raises(UsageError, match=message):
        DetectTask().check_options(WEIGHTS, **options)


def test_tasks_are_registered() -> None:
    for name in ("detect", "segment-instances", "keypoints"):
        task = get_task(name)
        assert task.name == name and task.result_type is Detections
        assert not task.batched_input
    assert get_task("classify").batched_input


def test_no_resize_preprocessing_and_cpu_outputs() -> None:
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    plain = Preprocessing(resize="none", resize_size=None, mean=(0, 0, 0), std=(1, 1, 1))
    tensor = to_tensor(image, plain)
    assert tensor.shape == (3, 37, 53)
    assert torch.allclose(tensor, torch.from_numpy(image).permute(2, 0, 1) / 255.0)
    assert Preprocessing.from_dict({"resize": "none", "resize_size": None}) == Preprocessing(
        resize="none", resize_size=None
    )
    with pytest.raises(ValueError, match="unknown resize policy"):
        Preprocessing(resize="letterbox")
    moved = outputs_to_cpu([{"labels": torch.tensor([1]), "scores": torch.tensor([0.5]).half()}])
    assert moved[0]["labels"].dtype == torch.int64 and moved[0]["scores"].dtype == torch.float32


@pytest.fixture(scope="module")
def tiny_detector():
    torch.manual_seed(0)
    return load_model(
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        task="detect",
        pretrained=False,
        num_classes=2,
        arch_options={"min_size": 96, "max_size": 128, "box_score_thresh": 0.0,
                      "rpn_post_nms_top_n_test": 50},
    )  # fmt: skip


def test_predictor_end_to_end_with_mixed_sizes(tiny_detector) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in [(60, 90), (90, 40)]]
    # Images of different sizes go to the network as a list, one batch or one at a time.
    # (torchvision pads a batch to a common size, so results are not bit-identical across
    # batch sizes, and a random network's tied scores make the kept boxes differ.)
    one = Predictor(tiny_detector, device="cpu", batch_size=1).predict(images, conf=0, max_det=5)
    both = Predictor(tiny_detector, device="cpu", batch_size=2).predict(images, conf=0, max_det=5)
    for image, *results in zip(images, one, both, strict=True):
        height, width = image.shape[:2]
        for result in results:
            assert isinstance(result, Detections) and result.image_size == (width, height)
            assert 0 < len(result) <= 5 and result.names == ("class_0", "class_1")
            assert np.all(result.xyxy >= 0) and np.all(result.xyxy[:, [0, 2]] <= width)
            assert np.all(result.xyxy[:, [1, 3]] <= height)
            assert np.all(np.diff(result.scores) <= 0)
            assert result_from_dict(result.to_dict()).to_dict() == result.to_dict()
    only = Predictor(tiny_detector, device="cpu").predict(images[0], conf=0, classes="class_1")
    assert set(only[0].class_ids.tolist()) <= {1}


def test_predictor_roi_and_bad_option(tiny_detector) -> None:
    image = np.random.default_rng(1).integers(0, 255, (80, 120, 3), dtype=np.uint8)
    [result] = Predictor(tiny_detector, device="cpu", roi="box:20,10,80,70").predict(image, conf=0)
    assert len(result) and result.image_size == (120, 80)
    assert np.all(result.xyxy[:, [0, 2]] >= 20) and np.all(result.xyxy[:, [0, 2]] <= 80)
    assert np.all(result.xyxy[:, [1, 3]] >= 10) and np.all(result.xyxy[:, [1, 3]] <= 70)
    with pytest.raises(UsageError, match="does not take option"):
        Predictor(tiny_detector, device="cpu").predict(image, top_k=3)
