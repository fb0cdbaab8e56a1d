"""Detection augmentation: boxes, masks and keypoints move with the image; sanitising."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors

from visiona.data.detection.augment import (
    HorizontalFlip,
    detection_eval_transform,
    detection_train_transform,
)
from visiona.data.detection.convert import read_dataset, write_dataset
from visiona.data.detection.shapes import make_shapes
from visiona.data.detection.splits import load_detection_splits
from visiona.data.detection.torch_dataset import DetectionTorchDataset
from visiona.errors import UsageError

FLIP = (1, 0, 2)  # left <-> right, top stays


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as in DataLoader workers: image ops on a busy CPU stay fast."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=["coco", "yolo"])
def shapes(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"aug-{request.param}")
    make_shapes(root, num_images=8, image_size=80, max_objects=4, fmt=request.param, seed=4)
    return load_detection_splits(root)


@pytest.fixture(scope="module")
def with_keypoints(tmp_path_factory):
    """Shapes in COCO with 3 keypoints per object (left, right, top of the box), read back."""
    base = tmp_path_factory.mktemp("kp")
    make_shapes(base / "s", num_images=6, image_size=72, fmt="coco", seed=1)
    dataset, _ = read_dataset(base / "s")
    dataset.keypoint_names = ("left", "right", "top")
    for image in dataset.images:
        for obj in image.objects:
            x0, y0, x1, y1 = obj.box
            cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
            obj.keypoints = [x0 + 1, cy, 2.0, x1 - 1, cy, 1.0, cx, y0 + 1, 2.0]
    write_dataset(dataset, base / "kp", "coco")
    return load_detection_splits(base / "kp")


def mask_box(mask: torch.Tensor) -> list[int]:
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    return [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]


def test_strong_augmentation_keeps_boxes_tight_around_masks_inside_the_image(shapes) -> None:
    dataset = DetectionTorchDataset(
        shapes.dataset, shapes.train, detection_train_transform("strong"), masks=True
    )
    plain = DetectionTorchDataset(shapes.dataset, shapes.train, masks=True)
    torch.manual_seed(0)
    changed = objects = 0
    for _round in range(3):
        for index in range(len(dataset)):
            image, target = dataset[index]
            boxes, masks = target["boxes"], target["masks"]
            height, width = image.shape[-2:]
            assert image.dtype == torch.float32 and image.min() >= 0 and image.max() <= 1
            assert boxes.canvas_size == (height, width) and masks.shape[-2:] == (height, width)
            assert len(boxes) == len(masks) == len(target["labels"]) == len(target["iscrowd"])
            assert (boxes[:, 2:] - boxes[:, :2] >= 1).all()
            assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all()
            assert (boxes[:, 3] <= height).all()
            for box, mask in zip(boxes, masks, strict=True):
                assert mask.any()
                assert torch.allclose(torch.tensor(mask_box(mask)).float(), box, atol=2)
            objects += len(boxes)
            changed += image.shape != plain[index][0].shape
    assert objects > 0 and changed > 0  # the zoom-out / crop really ran


def test_strong_augmentation_is_reproducible_with_a_seed(shapes) -> None:
    dataset = DetectionTorchDataset(
        shapes.dataset, shapes.train, detection_train_transform("strong")
    )
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        runs.append([dataset[i] for i in range(len(dataset))])
    for (image_a, target_a), (image_b, target_b) in zip(*runs, strict=True):
        assert torch.equal(image_a, image_b) and torch.equal(target_a["boxes"], target_b["boxes"])


def test_flip_moves_keypoints_and_swaps_left_and_right(with_keypoints) -> None:
    splits = with_keypoints
    flipped = DetectionTorchDataset(
        splits.dataset, splits.train, HorizontalFlip(1.0, FLIP), masks=True, keypoints=True
    )
    plain = DetectionTorchDataset(splits.dataset, splits.train, masks=True, keypoints=True)
    for index in range(len(plain)):
        image, target = plain[index]
        image_f, target_f = flipped[index]
        width = image.shape[-1]
        assert torch.equal(image_f, image.flip(-1))
        assert torch.equal(target_f["masks"], target["masks"].flip(-1))
        boxes = target["boxes"]
        expected = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]])
        assert torch.allclose(target_f["boxes"], expected.T)
        points, points_f = target["keypoints"], target_f["keypoints"]
        assert points.shape == points_f.shape == (len(boxes), 3, 3)
        mirrored = points[:, list(FLIP)]
        assert torch.allclose(points_f[..., 0], width - mirrored[..., 0])  # x → W - x, swapped
        assert torch.equal(points_f[..., 1:], mirrored[..., 1:])  # y and visibility swapped too
        # The keypoint called "left" is again at the left edge of its flipped box.
        assert torch.allclose(points_f[:, 0, 0], target_f["boxes"][:, 0] + 1)
        for box, mask in zip(target_f["boxes"], target_f["masks"], strict=True):
            assert mask_box(mask) == box.tolist()


def test_light_preset_flips_about_half_the_time_keypoints_stay_in_the_image(
    with_keypoints,
) -> None:
    splits = with_keypoints
    transform = detection_train_transform("light", keypoint_flip_indices=FLIP)
    dataset = DetectionTorchDataset(splits.dataset, splits.train, transform, keypoints=True)
    plain = DetectionTorchDataset(splits.dataset, splits.train, keypoints=True)
    torch.manual_seed(1)
    flips = 0
    draws = 0
    for _round in range(4):
        for index in range(len(dataset)):
            image, target = dataset[index]
            reference = plain[index][1]
            width = image.shape[-1]
            boxes = reference["boxes"]
            mirrored = torch.stack(
                [width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]]
            )
            if torch.allclose(target["boxes"], mirrored.T):
                flips += 1
                assert torch.allclose(target["keypoints"][:, 0, 0], target["boxes"][:, 0] + 1)
            else:
                assert torch.allclose(target["boxes"], boxes)
                assert torch.equal(target["keypoints"], reference["keypoints"])
            draws += 1
    assert 0 < flips < draws


def test_strong_augmentation_hides_keypoints_that_leave_the_image(with_keypoints) -> None:
    splits = with_keypoints
    transform = detection_train_transform("strong", keypoint_flip_indices=FLIP)
    dataset = DetectionTorchDataset(splits.dataset, splits.train, transform, keypoints=True)
    torch.manual_seed(3)
    for _round in range(4):
        for index in range(len(dataset)):
            image, target = dataset[index]
            height, width = image.shape[-2:]
            points = target["keypoints"]
            assert points.shape == (len(target["boxes"]), 3, 3)
            shown = points[points[..., 2] > 0]
            assert (shown[:, 0] >= 0).all() and (shown[:, 0] <= width).all()
            assert (shown[:, 1] >= 0).all() and (shown[:, 1] <= height).all()


def test_eval_transform_changes_no_geometry_and_drops_degenerate_boxes() -> None:
    image = tv_tensors.Image(torch.zeros(3, 20, 30, dtype=torch.uint8))
    boxes = tv_tensors.BoundingBoxes(
        [[1, 2, 11, 12], [25, 5, 40, 15], [3, 3, 3, 9], [31, 0, 35, 4]],
        format="XYXY",
        canvas_size=(20, 30),
    )
    masks = tv_tensors.Mask(torch.arange(4).view(4, 1, 1).expand(4, 20, 30).clone())
    points = tv_tensors.KeyPoints(torch.arange(16.0).view(4, 2, 2), canvas_size=(20, 30))
    target = {
        "boxes": boxes,
        "labels": torch.tensor([1, 2, 3, 4]),
        "iscrowd": torch.tensor([0, 1, 0, 0]),
        "masks": masks,
        "keypoints": points,
    }
    out_image, out = detection_eval_transform()(image, target)
    assert out_image.shape == image.shape
    assert out["boxes"].tolist() == [[1, 2, 11, 12], [25, 5, 30, 15]]  # clipped, 2 dropped
    assert out["labels"].tolist() == [1, 2] and out["iscrowd"].tolist() == [0, 1]
    assert out["masks"][:, 0, 0].tolist() == [0, 1]
    assert torch.equal(torch.as_tensor(out["keypoints"]), torch.arange(8.0).view(2, 2, 2))


def test_bad_preset_and_flip_map() -> None:
    with pytest.raises(UsageError, match="unknown augmentation preset 'huge'"):
        detection_train_transform("huge")
    with pytest.raises(UsageError, match="permutation"):
        detection_train_transform("light", keypoint_flip_indices=[0, 0, 1])
    steps = detection_train_transform("light", hflip=False).transforms
    assert not any(isinstance(step, HorizontalFlip) for step in steps)


def test_flip_map_of_the_wrong_length_is_an_error(with_keypoints) -> None:
    splits = with_keypoints
    dataset = DetectionTorchDataset(
        splits.dataset, splits.train, HorizontalFlip(1.0, (1, 0)), keypoints=True
    )
    with pytest.raises(ValueError, match="2 entries but objects have 3 keypoints"):
        dataset[0]
