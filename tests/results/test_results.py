"""Typed results validate themselves, round-trip through to_dict and draw on copies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from visiona.results import Classification, Detections, mask_to_rle, result_from_dict, rle_to_mask


def _classification() -> Classification:
    return Classification.from_probabilities(
        [0.1, 0.6, 0.3], ["cat", "dog", "fox"], top_k=2, source="a.jpg", image_size=(64, 48)
    )


def test_from_probabilities_keeps_top_k_sorted() -> None:
    result = _classification()
    assert result.labels == ("dog", "fox")
    assert result.class_ids.tolist() == [1, 2]
    assert result.probabilities == pytest.approx([0.6, 0.3])
    assert result.top1 == ("dog", pytest.approx(0.6))


def test_classification_schema_round_trip() -> None:
    result = _classification()
    data = json.loads(result.to_json())
    assert data == {
        "task": "classify", "source": "a.jpg", "image_size": [64, 48], "roi": None,
        "top": [{"rank": 1, "class_id": 1, "label": "dog", "probability": pytest.approx(0.6)},
                {"rank": 2, "class_id": 2, "label": "fox", "probability": pytest.approx(0.3)}],
    }  # fmt: skip
    again = result_from_dict(data)
    assert isinstance(again, Classification)
    assert again.labels == result.labels and again.image_size == (64, 48)
    assert np.allclose(again.probabilities, result.probabilities)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"class_ids": [0, 1], "probabilities": [0.5], "labels": ("a", "b")}, "disagree"),
        ({"class_ids": [0], "probabilities": [1.5], "labels": ("a",)}, r"\[0, 1\]"),
        ({"class_ids": [0, 1], "probabilities": [0.2, 0.7], "labels": ("a", "b")}, "sorted"),
    ],
)
def test_classification_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Classification(**kwargs)


def test_classification_draw_returns_a_copy_of_the_same_kind() -> None:
    image = np.full((120, 160, 3), 200, dtype=np.uint8)
    result = Classification(
        class_ids=[3], probabilities=[0.9], labels=("cat",), roi=(40, 20, 120, 100)
    )
    drawn = result.draw(image)
    assert isinstance(drawn, np.ndarray) and drawn.shape == image.shape
    assert (image == 200).all()  # input untouched
    assert not np.array_equal(drawn, image)
    assert tuple(drawn[60, 40]) == (255, 215, 0)  # ROI outline on its left edge
    pil = result.draw(Image.fromarray(image))
    assert isinstance(pil, Image.Image) and pil.size == (160, 120)


def test_detections_validate_and_round_trip_with_masks() -> None:
    masks = np.zeros((2, 20, 30), dtype=bool)
    masks[0, 2:8, 3:9] = True
    masks[1, 0, 0] = True
    result = Detections(
        xyxy=[[3, 2, 9, 8], [0, 0, 1, 1]], scores=[0.9, 0.4], class_ids=[1, 0],
        names=("circle", "square"), masks=masks, keypoints=np.ones((2, 3, 3)), track_ids=[7, 8],
    )  # fmt: skip
    data = result.to_dict()
    assert data["objects"][0]["label"] == "square" and data["objects"][1]["track_id"] == 8
    assert data["keypoint_columns"] == ["x", "y", "visibility"]  # what each (K, 3) row holds
    again = result_from_dict(json.loads(json.dumps(data)))
    assert np.array_equal(again.masks, masks)
    assert np.allclose(again.xyxy, result.xyxy) and again.labels == ["square", "circle"]
    drawn = result.draw(np.zeros((20, 30, 3), dtype=np.uint8))
    assert drawn.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xyxy": [[0, 0, 1, 1]], "scores": [0.5, 0.2], "class_ids": [0]}, "disagree"),
        ({"xyxy": [[5, 0, 1, 1]], "scores": [0.5], "class_ids": [0]}, "x1 >= x0"),
        ({"xyxy": [[0, 0, 1, 1]], "scores": [0.5], "class_ids": [4]}, "class ids"),
    ],
)
def test_detections_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(names=("a",), **kwargs)


def test_keypoint_columns_are_named_in_json(tmp_path) -> None:
    scored = Detections(xyxy=[[0, 0, 4, 4]], scores=[0.9], class_ids=[0], names=("a",),
                        keypoints=[[[1, 2, 0.8]]], keypoint_columns=("x", "y", "score"))  # fmt: skip
    path = tmp_path / "pose.json"
    path.write_text(json.dumps(scored.to_dict()))
    again = result_from_dict(json.loads(path.read_text()))
    assert again.keypoint_columns == ("x", "y", "score")
    assert "keypoint_columns" not in Detections([], [], [], ("a",)).to_dict()  # no keypoints
    with pytest.raises(ValueError, match="keypoint_columns"):
        Detections([], [], [], ("a",), keypoint_columns=("y", "x", "v"))


def test_empty_detections() -> None:
    empty = Detections(xyxy=[], scores=[], class_ids=[], names=("a",))
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)
    assert result_from_dict(empty.to_dict()).xyxy.shape == (0, 4)


def test_rle_round_trip_and_coco_convention() -> None:
    mask = np.array([[1, 0], [1, 1]], dtype=bool)
    rle = mask_to_rle(mask)
    assert rle == {"size": [2, 2], "counts": [0, 2, 1, 1]}  # column-major, zeros first
    assert np.array_equal(rle_to_mask(rle), mask)


def _white_pixels(drawn: np.ndarray) -> int:
    return int((drawn > 200).all(axis=-1).sum())


@pytest.mark.parametrize("corner", [(0, 0), (110, 110), (120, 2)])
def test_labels_near_the_border_stay_inside_the_image(corner: tuple[int, int]) -> None:
    """A label is moved inside the image, never cut off at the right or bottom border."""
    black = np.zeros((128, 128, 3), np.uint8)
    x, y = corner
    detections = Detections(
        xyxy=[[x, y, min(x + 8, 127), min(y + 8, 127)]], scores=[0.99], class_ids=[2],
        names=["circle", "square", "a long triangle label"],
    )  # fmt: skip
    drawn = detections.draw(black)
    reference = Detections(
        xyxy=[[0, 0, 8, 8]], scores=[0.99], class_ids=[2], names=detections.names
    ).draw(black)
    text = _white_pixels(reference)
    assert text > 50 and _white_pixels(drawn) == text  # the whole text is in the picture
