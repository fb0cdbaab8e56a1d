"""DetectionTorchDataset: items in torchvision detectors' format, read from real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors

from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, ObjectAnnotation
from visiona.data.detection.augment import detection_eval_transform
from visiona.data.detection.shapes import make_shapes
from visiona.data.detection.splits import load_detection_splits
from visiona.data.detection.torch_dataset import DetectionTorchDataset, detection_collate
from visiona.errors import UsageError


@pytest.fixture(scope="module", params=["coco", "yolo"])
def shapes(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"shapes-{request.param}")
    make_shapes(root, num_images=6, image_size=64, max_objects=4, fmt=request.param, seed=2)
    return load_detection_splits(root)


def mask_box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """Tight pixel-edge box of a ``(H, W)`` mask."""
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def test_items_have_torchvision_shapes_dtypes_and_labels(shapes) -> None:
    dataset = DetectionTorchDataset(shapes.dataset, shapes.train, masks=True)
    assert len(dataset) == len(shapes.train) == 5
    for index, annotation in enumerate(shapes.train):
        image, target = dataset[index]
        assert isinstance(image, tv_tensors.Image) and image.dtype == torch.float32
        assert image.shape == (3, 64, 64) and image.min() >= 0 and image.max() <= 1
        pixels = np.array(Image.open(shapes.dataset.image_path(annotation)).convert("RGB"))
        assert torch.equal((image * 255).round().byte(), torch.from_numpy(pixels).permute(2, 0, 1))
        boxes = target["boxes"]
        n = len(annotation.objects)
        assert isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format.name == "XYXY"
        assert boxes.shape == (n, 4) and boxes.dtype == torch.float32
        expected = torch.tensor([o.box for o in annotation.objects]).reshape(-1, 4)
        assert torch.allclose(boxes, expected, atol=1e-3)
        assert target["labels"].dtype == torch.int64
        assert target["labels"].tolist() == [o.class_id + 1 for o in annotation.objects]
        assert target["iscrowd"].tolist() == [0] * n and target["iscrowd"].dtype == torch.int64
        assert target["image_id"] == index
        masks = target["masks"]
        assert isinstance(masks, tv_tensors.Mask) and masks.dtype == torch.uint8
        assert masks.shape == (n, 64, 64)
        for mask, box in zip(masks, boxes, strict=True):
            assert np.allclose(mask_box(mask), box.tolist(), atol=1)  # mask bbox ≈ box


def _write_png(path: Path, width: int, height: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 90, dtype=np.uint8)).save(path)


def test_degenerate_boxes_dropped_with_masks_labels_keypoints(tmp_path: Path) -> None:
    _write_png(tmp_path / "a.png", 40, 30)
    kp = [5.0, 6.0, 2.0, 7.0, 8.0, 1.0]
    objects = [
        ObjectAnnotation((10, 5, 10, 20), 0, keypoints=kp),  # zero width
        ObjectAnnotation((2, 3, 12, 13), 1, keypoints=[3.0, 4.0, 2.0, 0.0, 0.0, 0.0]),
        ObjectAnnotation((50, 5, 60, 20), 0, keypoints=kp),  # entirely right of the image
        ObjectAnnotation((30, 20, 45, 35), 2, polygons=[[30, 20, 45, 20, 45, 35, 30, 35]]),
        ObjectAnnotation((5, 5, 5.5, 25), 0),  # half a pixel wide
    ]
    data = DetectionDataset(
        tmp_path, ("a", "b", "c"), [ImageAnnotation("a.png", 40, 30, objects)], ("l", "r")
    )
    dataset = DetectionTorchDataset(
        data, data.images, detection_eval_transform(), masks=True, keypoints=True
    )
    _, target = dataset[0]
    assert target["labels"].tolist() == [2, 3]
    assert target["boxes"].tolist() == [[2, 3, 12, 13], [30, 20, 40, 30]]  # clipped to 40×30
    assert target["masks"].shape == (2, 30, 40) and target["iscrowd"].shape == (2,)
    assert mask_box(target["masks"][0]) == (2, 3, 12, 13)  # box-only object: box filled
    assert mask_box(target["masks"][1]) == (30, 20, 40, 30)
    keypoints = target["keypoints"]
    assert keypoints.shape == (2, 2, 3) and keypoints.dtype == torch.float32
    assert keypoints[0].tolist() == [[3, 4, 2], [0, 0, 0]]
    assert keypoints[1].tolist() == [[0, 0, 0], [0, 0, 0]]  # no keypoints: visibility 0


def test_background_images_give_empty_targets_and_collate(tmp_path: Path) -> None:
    _write_png(tmp_path / "bg.png", 32, 24)
    _write_png(tmp_path / "fg.png", 20, 20)
    data = DetectionDataset(
        tmp_path,
        ("thing",),
        [
            ImageAnnotation("bg.png", 32, 24),
            ImageAnnotation("fg.png", 20, 20, [ObjectAnnotation((1, 1, 9, 9), 0, keypoints=[])]),
        ],
        keypoint_names=("tip",),
    )
    dataset = DetectionTorchDataset(data, data.images, masks=True, keypoints=True)
    image, target = dataset[0]
    assert image.shape == (3, 24, 32)
    assert target["boxes"].shape == (0, 4) and target["boxes"].dtype == torch.float32
    assert target["labels"].shape == (0,) and target["masks"].shape == (0, 24, 32)
    assert target["keypoints"].shape == (0, 1, 3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=detection_collate)
    images, targets = next(iter(loader))
    assert [tuple(i.shape) for i in images] == [(3, 24, 32), (3, 20, 20)]
    assert [t["labels"].tolist() for t in targets] == [[], [1]]
    assert [t["image_id"] for t in targets] == [0, 1]


def test_keypoints_without_keypoint_labels_is_a_usage_error(shapes) -> None:
    with pytest.raises(UsageError, match="has none"):
        DetectionTorchDataset(shapes.dataset, shapes.train, keypoints=True)


@pytest.mark.slow
def test_mask_and_keypoint_rcnn_training_steps_accept_the_batches(tmp_path: Path) -> None:
    from torchvision.models.detection import KeypointRCNN, MaskRCNN
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    make_shapes(tmp_path, num_images=3, image_size=64, fmt="coco", val_fraction=0.34)
    splits = load_detection_splits(tmp_path)
    data = splits.dataset
    data.keypoint_names = ("corner",)
    for image in splits.train:
        for obj in image.objects:
            obj.keypoints = [obj.box[0] + 1, obj.box[1] + 1, 2.0]
    background = ImageAnnotation(splits.train[0].file, 64, 64)  # same pixels, no labels
    dataset = DetectionTorchDataset(
        data, [*splits.train, background], detection_eval_transform(), masks=True, keypoints=True
    )
    images, targets = detection_collate([dataset[i] for i in range(len(dataset))])
    torch.manual_seed(0)
    for model_class, extra, loss in (
        (MaskRCNN, {}, "loss_mask"),
        (KeypointRCNN, {"num_keypoints": 1}, "loss_keypoint"),
    ):
        backbone = resnet_fpn_backbone(backbone_name="resnet18", weights=None, trainable_layers=5)
        model = model_class(backbone, num_classes=4, min_size=64, max_size=64, **extra)
        model.train()
        losses = model(images, targets)
        assert {"loss_classifier", "loss_box_reg", loss} <= set(losses)
        assert all(torch.isfinite(v) for v in losses.values())
