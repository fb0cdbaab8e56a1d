"""RLE (list and compressed), polygons and instance-id PNG masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests_support import require_module
from visiona.data.detection.masks import (
    decode_rle_string,
    encode_rle_string,
    mask_to_polygons,
    mask_to_rle,
    masks_from_png,
    merge_polygons,
    polygon_area,
    polygons_to_mask,
    read_instance_png,
    rle_area,
    rle_bounds,
    rle_counts,
    rle_to_mask,
    write_instance_png,
)


def random_masks(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        height, width = rng.integers(1, 24, 2)
        yield rng.random((height, width)) < rng.random()


def test_compressed_rle_round_trips_and_matches_a_known_string() -> None:
    # A 3x3 mask with the centre pixel set: runs 4, 1, 4.
    mask = np.zeros((3, 3), dtype=bool)
    mask[1, 1] = True
    rle = mask_to_rle(mask, compressed=True)
    assert rle == {"size": [3, 3], "counts": "414"}
    assert decode_rle_string("414") == [4, 1, 4]
    for mask in random_masks(200):
        compressed = mask_to_rle(mask, compressed=True)
        assert (rle_to_mask(compressed) == mask).all()
        assert rle_counts(compressed) == mask_to_rle(mask)["counts"]
        assert decode_rle_string(encode_rle_string(rle_counts(compressed))) == rle_counts(
            compressed
        )


def test_compressed_rle_equals_pycocotools() -> None:
    mask_utils = require_module("pycocotools.mask")
    for mask in random_masks(100, seed=1):
        ours = mask_to_rle(mask, compressed=True)
        theirs = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        assert ours["counts"] == theirs["counts"].decode()
        assert rle_area(ours) == int(mask_utils.area(theirs))


def test_bad_rle_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="covers 5 pixels"):
        rle_counts({"size": [2, 2], "counts": [1, 4]})
    with pytest.raises(ValueError, match="not valid"):
        decode_rle_string("4 1")
    with pytest.raises(ValueError, match="size"):
        rle_counts({"counts": [4]})


def test_polygons_trace_and_rasterise_exactly() -> None:
    for mask in random_masks(200, seed=2):
        polygons, holes = mask_to_polygons(mask)
        filled = polygons_to_mask(polygons, *mask.shape)
        assert (filled >= mask).all()
        if holes == 0:
            assert (filled == mask).all()
    square = np.zeros((10, 12), dtype=bool)
    square[2:6, 3:9] = True
    polygons, holes = mask_to_polygons(square)
    assert holes == 0
    assert polygons == [[3.0, 2.0, 9.0, 2.0, 9.0, 6.0, 3.0, 6.0]]  # 4 corners, pixel edges
    assert polygon_area(polygons[0]) == 24
    assert rle_bounds(mask_to_rle(square)) == (3.0, 2.0, 9.0, 6.0)


def test_ring_reports_its_hole_and_parts_merge_into_one_outline() -> None:
    ring = np.zeros((9, 9), dtype=bool)
    ring[1:8, 1:8] = True
    ring[3:6, 3:6] = False
    polygons, holes = mask_to_polygons(ring)
    assert (len(polygons), holes) == (1, 1)
    parts = np.zeros((20, 20), dtype=bool)
    parts[1:5, 1:5] = parts[10:15, 8:12] = parts[3:6, 15:19] = True
    polygons, _ = mask_to_polygons(parts)
    assert len(polygons) == 3
    assert (polygons_to_mask([merge_polygons(polygons)], 20, 20) == parts).all()


def test_masks_from_png_8_and_16_bit(tmp_path: Path) -> None:
    ids = np.zeros((6, 8), dtype=np.uint8)
    ids[1:3, 1:4] = 1
    ids[3:5, 4:7] = 2
    ids[0, :] = 255  # VOC's void border
    Image.fromarray(ids).save(tmp_path / "a.png")
    rles = masks_from_png(tmp_path / "a.png")
    assert [rle_area(r) for r in rles] == [6, 6]
    polygons = masks_from_png(tmp_path / "a.png", as_polygons=True)
    assert polygons[0] == [[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 1.0, 3.0]]

    deep = np.zeros((4, 4), dtype=np.uint16)
    deep[0, 0], deep[3, 3] = 300, 255  # 255 is an id in a 16-bit image
    Image.fromarray(deep).save(tmp_path / "b.png")
    assert sorted(read_instance_png(tmp_path / "b.png")) == [255, 300]

    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="one integer id per pixel"):
        masks_from_png(tmp_path / "rgb.png")


def test_write_instance_png_is_a_voc_palette_image(tmp_path: Path) -> None:
    first = np.zeros((5, 5), dtype=bool)
    first[0:3, 0:3] = True
    second = np.zeros((5, 5), dtype=bool)
    second[2:5, 2:5] = True
    write_instance_png(tmp_path / "m.png", [first, None, second], 5, 5)
    with Image.open(tmp_path / "m.png") as image:
        assert image.mode == "P"
    masks = read_instance_png(tmp_path / "m.png")
    assert sorted(masks) == [1, 3]
    assert masks[1].sum() == 8  # the later object covers the shared pixel


def test_attach_png_masks_gives_objects_their_instance_masks(yolo_dir: Path) -> None:
    from visiona.data.detection.masks import attach_png_masks
    from visiona.data.detection.yolo import read_yolo

    dataset, _ = read_yolo(yolo_dir)
    ids = np.zeros((50, 100), dtype=np.uint8)
    ids[15:35, 40:60] = 1  # a.jpg's first object
    ids[0:2, 0:2] = 3  # no third object
    (yolo_dir / "masks").mkdir()
    Image.fromarray(ids).save(yolo_dir / "masks/a.png")
    Image.fromarray(np.zeros((5, 5), dtype=np.uint8) + 1).save(yolo_dir / "masks/d.png")
    problems = attach_png_masks(dataset, yolo_dir / "masks")
    assert [(p.file, p.kind) for p in problems] == [
        ("masks/a.png", "mask-without-object"),
        ("masks/d.png", "size-mismatch"),
    ]
    first, second = next(i for i in dataset.images if i.file == "train/a.jpg").objects
    assert rle_area(first.rle) == 400 and second.rle is None
