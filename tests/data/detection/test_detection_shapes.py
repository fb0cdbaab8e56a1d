"""The synthetic shapes set: deterministic, exact boxes and masks, every format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiona.data.detection.check import check_dataset
from visiona.data.detection.coco import read_coco
from visiona.data.detection.masks import polygons_to_mask
from visiona.data.detection.shapes import (
    SHAPE_CLASSES,
    draw_shapes_image,
    make_shapes,
    shape_annotation,
)
from visiona.errors import UsageError


def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path, tree_hash) -> None:
    make_shapes(tmp_path / "a", num_images=12, image_size=64, seed=7)
    make_shapes(tmp_path / "b", num_images=12, image_size=64, seed=7)
    make_shapes(tmp_path / "c", num_images=12, image_size=64, seed=8)
    a, b, c = (tree_hash(tmp_path / n) for n in "abc")
    assert {k: v[0] for k, v in a.items()} == {k: v[0] for k, v in b.items()}
    assert {k: v[0] for k, v in a.items()} != {k: v[0] for k, v in c.items()}
    # Image k does not depend on how many images are drawn.
    first, _ = draw_shapes_image(7, 3, image_size=64)
    assert (first == draw_shapes_image(7, 3, image_size=64)[0]).all()


def test_boxes_tightly_bound_the_drawn_masks(tmp_path: Path) -> None:
    report = make_shapes(tmp_path / "s", num_images=20, image_size=96, max_objects=5, seed=1)
    assert report.images == {"train": 16, "val": 4}
    assert set().union(*(c.keys() for c in report.objects.values())) == {0, 1, 2}
    dataset, problems = read_coco(tmp_path / "s")
    assert problems == [] and dataset.classes == SHAPE_CLASSES
    for image in dataset.images:
        pixels = np.asarray(Image.open(dataset.image_path(image))).astype(float)
        covered = np.zeros((image.height, image.width), dtype=bool)
        for obj in image.objects:
            mask = polygons_to_mask(obj.polygons, image.height, image.width)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            assert obj.box == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)  # tight, pixel edges
            assert not (covered & mask).any()  # visible masks never overlap
            covered |= mask
            # The mask is exactly the drawn shape: one flat colour plus the image's mild noise.
            assert pixels[mask].std(axis=0).max() < 10


def test_drawn_masks_match_annotations_in_memory() -> None:
    pixels, shapes = draw_shapes_image(0, 5, image_size=80, max_objects=6)
    assert pixels.shape == (80, 80, 3) and pixels.dtype == np.uint8
    for shape in shapes:
        obj = shape_annotation(shape)
        assert (polygons_to_mask(obj.polygons, 80, 80) == shape.mask).all()
        assert obj.class_id == shape.class_id


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc"])
def test_every_format_checks_clean(fmt: str, tmp_path: Path) -> None:
    make_shapes(tmp_path / fmt, num_images=6, image_size=48, fmt=fmt)
    report = check_dataset(tmp_path / fmt)
    assert report.format == fmt and report.ok and report.problems == []
    assert report.total_images == 6 and report.background == []
    manifest = json.loads((tmp_path / fmt / "dataset.json").read_text())
    assert manifest["name"] == "shapes" and manifest["format"] == fmt


def test_overwrite_and_bad_options(tmp_path: Path) -> None:
    out = tmp_path / "s"
    make_shapes(out, num_images=3, image_size=32, fmt="yolo")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        make_shapes(out, num_images=3, image_size=32)
    make_shapes(out, num_images=2, image_size=32, fmt="coco", overwrite=True)
    assert not (out / "labels").exists() and (out / "annotations").is_dir()
    assert (out / "notes.txt").read_text() == "mine"
    foreign = tmp_path / "foreign"
    (foreign / "images").mkdir(parents=True)
    with pytest.raises(UsageError, match="not written by visiona"):
        make_shapes(foreign, num_images=2, overwrite=True)
    for options in ({"num_images": 0}, {"image_size": 8}, {"fmt": "kitti"}, {"val_fraction": 1.0}):
        with pytest.raises(UsageError):
            make_shapes(tmp_path / "x", **options)


def test_boxes_only_and_no_val_split(tmp_path: Path) -> None:
    report = make_shapes(tmp_path / "b", num_images=3, image_size=32, masks=False, val_fraction=0)
    assert report.images == {"train": 3}
    dataset, _ = read_coco(tmp_path / "b")
    assert all(not o.has_mask for _, o in dataset.objects())


def test_shapes_with_keypoints_label_each_shapes_extreme_points(tmp_path) -> None:
    from visiona.data.detection.convert import read_dataset
    from visiona.data.detection.shapes import SHAPE_KEYPOINTS, extreme_points

    square = np.zeros((10, 10), bool)
    square[2:5, 3:9] = True  # rows 2-4, columns 3-8
    assert extreme_points(square) == [6.0, 2.5, 2.0, 6.0, 4.5, 2.0, 3.5, 3.5, 2.0, 8.5, 3.5, 2.0]
    make_shapes(tmp_path / "kp", num_images=4, image_size=64, seed=1, keypoints=True)
    dataset, _ = read_dataset(tmp_path / "kp")
    assert dataset.keypoint_names == SHAPE_KEYPOINTS and dataset.num_keypoints == 4
    for _, obj in dataset.objects():
        x0, y0, x1, y1 = obj.box
        xs, ys = obj.keypoints[0::3], obj.keypoints[1::3]
        assert all(x0 <= x <= x1 for x in xs) and all(y0 <= y <= y1 for y in ys)
        assert ys[0] == y0 + 0.5 and ys[1] == y1 - 0.5 and xs[2] == x0 + 0.5 and xs[3] == x1 - 0.5
    with pytest.raises(UsageError, match="no keypoints"):
        make_shapes(tmp_path / "voc", num_images=2, fmt="voc", keypoints=True)
