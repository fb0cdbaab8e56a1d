"""Segmentation data: mask formats, class files, VOC and COCO layouts, random-crop dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from segment_support import make_pairs
from visiona.data.segmentation.dataset import VOC_CLASSES, read_segmentation_dataset
from visiona.data.segmentation.masks import MaskError, mask_ids, read_mask
from visiona.results.segmentation import IGNORE_INDEX, default_colors, voc_color

COLORS = ((0, 0, 0), (255, 0, 0), (0, 0, 255))


def test_mask_modes() -> None:
    ids = np.array([[0, 1], [2, 255]], np.uint8)
    palette = Image.fromarray(ids, mode="P")
    assert np.array_equal(mask_ids(palette, COLORS, 3), ids)
    grey = Image.fromarray(ids, mode="L")
    assert np.array_equal(mask_ids(grey, COLORS, 3), ids)  # 255 stays "ignore"
    binary = Image.fromarray(np.array([[0, 255]], np.uint8), mode="L")
    assert mask_ids(binary, COLORS[:2], 2).tolist() == [[0, 1]]
    rgb = Image.fromarray(np.array([[[0, 0, 255], [255, 255, 255]]], np.uint8))
    assert mask_ids(rgb, COLORS, 3).tolist() == [[2, IGNORE_INDEX]]
    with pytest.raises(MaskError, match="#0c0c0c"):
        mask_ids(Image.new("RGB", (2, 2), (12, 12, 12)), COLORS, 3)
    with pytest.raises(MaskError, match="outside the class list"):
        mask_ids(Image.fromarray(np.full((2, 2), 5, np.uint8), mode="L"), COLORS, 3)


def test_jpeg_mask_warns_and_unreadable_fails(tmp_path) -> None:
    Image.new("L", (4, 4), 1).save(tmp_path / "m.jpg", quality=100)
    ids, warnings = read_mask(tmp_path / "m.jpg", COLORS, 3)
    assert ids.shape == (4, 4) and "lossy" in warnings[0]
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(MaskError, match="not a readable image"):
        read_mask(tmp_path / "bad.png", COLORS, 3)


def test_folder_with_classes_txt_and_inferred_classes(tmp_path) -> None:
    root = make_pairs(tmp_path / "a", count=2)
    (root / "dataset.json").unlink()
    inferred = read_segmentation_dataset(root)
    assert inferred.classes == ("background", "foreground")
    (root / "classes.txt").write_text("sky #87ceeb\nground\n")
    named = read_segmentation_dataset(root)
    assert named.classes == ("sky", "ground")
    assert named.colors == ((0x87, 0xCE, 0xEB), voc_color(1))
    ids, _ = named.read_mask(named.samples[0])
    assert set(np.unique(ids).tolist()) == {0, 1}


def test_painter_labels_folder_points_at_images(tmp_path) -> None:
    images = make_pairs(tmp_path / "photos", count=2)
    labels = tmp_path / "labels"
    (labels / "masks").mkdir(parents=True)
    (images / "masks" / "000.png").rename(labels / "masks" / "000.png")
    meta = {"classes": ["background", "square"], "images": str(images / "images")}
    (labels / "dataset.json").write_text(json.dumps(meta))
    dataset = read_segmentation_dataset(labels)
    assert len(dataset.samples) == 2 and len(dataset.labelled()) == 1


def test_voc_layout(tmp_path) -> None:
    root = tmp_path / "VOC2012"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    for name, split in (("a", "train"), ("b", "val")):
        Image.new("RGB", (8, 8)).save(root / "JPEGImages" / f"{name}.jpg")
        ids = np.full((8, 8), 15, np.uint8)
        ids[0] = 255
        mask = Image.fromarray(ids, mode="P")
        mask.putpalette([v for i in range(256) for v in voc_color(i)])
        mask.save(root / "SegmentationClass" / f"{name}.png")
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text(name + "\n")
    dataset = read_segmentation_dataset(tmp_path)
    assert dataset.layout == "voc" and dataset.classes == VOC_CLASSES
    assert sorted(s.split for s in dataset.samples) == ["train", "val"]
    ids, _ = dataset.read_mask(dataset.samples[0])
    assert ids[0, 0] == IGNORE_INDEX and ids[4, 4] == VOC_CLASSES.index("person")


def test_coco_polygons_are_rasterised(tmp_path) -> None:
    from visiona.data.detection.annotations import (
        DetectionDataset,
        ImageAnnotation,
        ObjectAnnotation,
    )
    from visiona.data.detection.convert import write_dataset

    (tmp_path / "src").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "src" / "a.png")
    square = ObjectAnnotation((2, 2, 8, 8), 1, polygons=[[2, 2, 8, 2, 8, 8, 2, 8]])
    crowd = ObjectAnnotation((10, 0, 20, 10), 0, polygons=[[10, 0, 20, 0, 20, 10, 10, 10]],
                             iscrowd=True)  # fmt: skip
    memory = DetectionDataset(
        tmp_path / "src", ("cat", "dog"), [ImageAnnotation("a.png", 20, 10, [square, crowd])]
    )
    write_dataset(memory, tmp_path / "coco", "coco")
    dataset = read_segmentation_dataset(tmp_path / "coco")
    assert dataset.layout == "coco" and dataset.classes == ("background", "cat", "dog")
    ids, _ = dataset.read_mask(dataset.samples[0])
    assert ids[5, 5] == 2 and ids[0, 0] == 0 and ids[5, 15] == IGNORE_INDEX


def test_random_crops_move_masks_with_images() -> None:
    from visiona.data.segmentation.torch_dataset import CropDataset
    from visiona.weights.record import Preprocessing

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 3, (40, 50)).astype(np.uint8)
    image = np.stack([ids * 100] * 3, axis=-1).astype(np.uint8)  # the image encodes its mask
    plain = Preprocessing(input_size=(1, 1), resize="none", resize_size=None, mean=(0,) * 3,
                          std=(1,) * 3)  # fmt: skip
    dataset = CropDataset([(image, ids)], plain, crop=32, crops_per_epoch=6, augment="strong")
    torch.manual_seed(0)
    for index in range(len(dataset)):
        pixels, mask = dataset[index]
        assert pixels.shape == (3, 32, 32) and mask.shape == (32, 32) and mask.dtype == torch.int64
        labelled = mask != IGNORE_INDEX
        assert labelled.float().mean() > 0.3
        assert set(mask[labelled].unique().tolist()) <= {0, 1, 2}


def test_metrics_match_torchmetrics_jaccard() -> None:
    from torchmetrics.classification import MulticlassJaccardIndex

    from visiona.metrics.segmentation import SegmentationMetrics

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, (2, 16, 16))
    truth[0, 0] = 255
    predicted = np.where(
        rng.random(truth.shape) < 0.7, truth % 255, rng.integers(0, 3, truth.shape)
    )
    ours = SegmentationMetrics(("a", "b", "c"))
    for p, t in zip(predicted, truth, strict=True):
        ours.update(p, t)
    report = ours.compute()
    reference = MulticlassJaccardIndex(3, ignore_index=255, average=None)(
        torch.as_tensor(predicted), torch.as_tensor(truth)
    )
    assert np.allclose(report.iou, reference.numpy(), atol=1e-6)
    assert report.miou == pytest.approx(float(reference.mean()), abs=1e-6)
    valid = truth != 255
    assert report.pixel_accuracy == pytest.approx((predicted == truth)[valid].mean())
    assert default_colors(2) == ((0, 0, 0), (128, 0, 0))
