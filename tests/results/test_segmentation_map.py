"""SegmentationMap: validation, JSON round trip, overlay, palette PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visiona.results import SegmentationMap, result_from_dict
from visiona.results.segmentation import IGNORE_INDEX, voc_color


def _map() -> SegmentationMap:
    ids = np.zeros((6, 8), np.uint8)
    ids[1:4, 2:6] = 2
    ids[5, :] = IGNORE_INDEX
    return SegmentationMap(ids, ("background", "cat", "dog"), model="m", source="x.png")


def test_round_trip_areas_and_arrays() -> None:
    result = _map()
    data = result.to_dict()
    assert data["task"] == "segment" and data["image_size"] == [8, 6]
    assert [c["name"] for c in data["classes"]] == ["background", "dog"]
    assert result.areas == {"background": 28, "cat": 0, "dog": 12}
    back = result_from_dict(data)
    assert np.array_equal(back.class_map, result.class_map)
    assert back.colors == result.colors == (voc_color(0), voc_color(1), voc_color(2))
    assert set(result.numpy()) == {"class_map"}


def test_draw_blends_colours_and_keeps_ignored_pixels() -> None:
    image = np.full((6, 8, 3), 100, np.uint8)
    drawn = _map().draw(image, opacity=1.0, legend=False)
    assert tuple(drawn[2, 3]) == voc_color(2)
    assert tuple(drawn[5, 0]) == (100, 100, 100)  # ignored: untouched
    assert np.array_equal(image, np.full((6, 8, 3), 100, np.uint8))  # input unchanged
    with pytest.raises(ValueError, match="image is"):
        _map().draw(np.zeros((5, 5, 3), np.uint8))


def test_save_mask_writes_a_palette_png(tmp_path) -> None:
    path = _map().save_mask(tmp_path / "sub" / "m.png")
    mask = Image.open(path)
    assert mask.mode == "P"
    assert np.array_equal(np.asarray(mask), _map().class_map)
    assert mask.getpalette()[6:9] == list(voc_color(2))
    assert not list((tmp_path / "sub").glob(".*part"))


def test_validation() -> None:
    with pytest.raises(ValueError, match="class id 3"):
        SegmentationMap(np.full((2, 2), 3), ("a", "b"))
    with pytest.raises(ValueError, match="probabilities"):
        SegmentationMap(np.zeros((2, 2)), ("a", "b"), probabilities=np.zeros((3, 2, 2)))
    assert voc_color(15) == (192, 128, 128)
