"""Faces, Keypoints and Matte: validation, JSON round trips and overlays that copy the image."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from visiona.results import Faces, Keypoints, Matte, result_from_dict
from visiona.results.skeletons import HAND_EDGES, HAND_NAMES, POSE_EDGES, POSE_NAMES


def _faces() -> Faces:
    landmarks = np.full((2, 5, 2), np.nan, np.float32)
    landmarks[0] = [[30, 30], [50, 30], [40, 40], [32, 50], [48, 50]]
    landmarks[1, :3] = [[80, 20], [90, 20], [85, 26]]  # eyes and nose only (BlazeFace)
    return Faces(
        xyxy=[[20, 20, 60, 60], [75, 10, 95, 35]], scores=[0.9, 0.7], landmarks=landmarks,
        identities=("ada", "unknown"), distances=[0.3, 0.8], backend="test", source="a.jpg",
        image_size=(100, 80),
    )  # fmt: skip


def test_faces_round_trip_keeps_missing_landmarks_as_null() -> None:
    faces = _faces()
    data = json.loads(faces.to_json())
    assert data["faces"][1]["landmarks"]["mouth_left"] is None
    assert data["faces"][0]["identity"] == "ada"
    back = result_from_dict(data)
    assert isinstance(back, Faces)
    np.testing.assert_allclose(back.xyxy, faces.xyxy)
    np.testing.assert_array_equal(np.isnan(back.landmarks), np.isnan(faces.landmarks))
    assert back.identities == faces.identities and back.image_size == (100, 80)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"xyxy": [[0, 0, 10, 10]], "scores": [0.5, 0.4]},
        {"xyxy": [[10, 0, 0, 10]], "scores": [0.5]},
        {"xyxy": [[0, 0, 10, 10]], "scores": [0.5], "landmarks": np.zeros((1, 4, 2))},
        {"xyxy": [[0, 0, 10, 10]], "scores": [0.5], "identities": ("a", "b")},
    ],
)
def test_faces_rejects_inconsistent_arrays(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Faces(**kwargs)


def test_faces_without_landmarks_and_empty() -> None:
    assert np.isnan(Faces(xyxy=[[0, 0, 5, 5]], scores=[1.0]).landmarks).all()
    empty = Faces(xyxy=np.zeros((0, 4)), scores=[])
    assert len(empty) == 0 and empty.landmarks.shape == (0, 5, 2)


@pytest.mark.parametrize("kind", ["array", "pil"])
def test_draw_returns_a_new_image_of_the_same_kind(kind: str) -> None:
    pixels = np.full((80, 100, 3), 40, np.uint8)
    image = pixels.copy() if kind == "array" else Image.fromarray(pixels)
    drawn = _faces().draw(image)
    assert type(drawn) is type(image)
    assert not np.array_equal(np.asarray(drawn), pixels)
    np.testing.assert_array_equal(np.asarray(image), pixels)  # input untouched


def _pose(n: int = 1) -> Keypoints:
    rng = np.random.default_rng(0)
    points = rng.uniform(5, 90, (n, len(POSE_NAMES), 3))
    return Keypoints(
        points=points, visibility=np.ones((n, len(POSE_NAMES))), scores=np.ones(n),
        names=POSE_NAMES, edges=POSE_EDGES, kind="pose", model="m", source="p.png",
        image_size=(100, 100),
    )  # fmt: skip


def test_keypoints_round_trip_and_named_points() -> None:
    pose = _pose()
    assert pose.to_dict()["point_columns"] == ["x", "y", "z"]  # visibility is its own list
    back = result_from_dict(json.loads(pose.to_json()))
    assert isinstance(back, Keypoints) and back.names == POSE_NAMES
    np.testing.assert_allclose(back.points, pose.points, atol=1e-3)
    np.testing.assert_array_equal(back.edges, np.asarray(POSE_EDGES))
    np.testing.assert_allclose(pose.point("nose"), pose.points[0, 0])
    drawn = pose.draw(np.zeros((100, 100, 3), np.uint8))
    assert drawn.shape == (100, 100, 3) and drawn.any()


def test_keypoints_validation() -> None:
    with pytest.raises(ValueError, match="edge"):
        Keypoints(points=np.zeros((1, 21, 3)), visibility=np.ones((1, 21)), scores=[1],
                  names=HAND_NAMES, edges=[(0, 21)])  # fmt: skip
    with pytest.raises(ValueError, match="labels"):
        Keypoints(points=np.zeros((1, 21, 3)), visibility=np.ones((1, 21)), scores=[1],
                  names=HAND_NAMES, edges=HAND_EDGES, labels=("Left", "Right"))  # fmt: skip
    with pytest.raises(ValueError):
        Keypoints(points=np.zeros((1, 20, 3)), visibility=np.ones((1, 21)), scores=[1],
                  names=HAND_NAMES, edges=HAND_EDGES)  # fmt: skip


def test_skeletons_are_consistent() -> None:
    assert len(POSE_NAMES) == 33 and len(HAND_NAMES) == 21
    assert max(max(edge) for edge in POSE_EDGES) == 32
    assert {i for edge in HAND_EDGES for i in edge} == set(range(21))


def test_matte_cutout_replacement_and_round_trip() -> None:
    alpha = np.zeros((20, 30), np.float32)
    alpha[5:15, 10:20] = 1.0
    matte = Matte(alpha=alpha, model="m", source="s.png")
    image = np.full((20, 30, 3), 200, np.uint8)
    cutout = matte.cutout(image)
    assert cutout.mode == "RGBA" and cutout.size == (30, 20)
    assert np.asarray(cutout)[0, 0, 3] == 0 and np.asarray(cutout)[10, 15, 3] == 255
    replaced = matte.replace_background(image, (0, 0, 255))
    assert tuple(replaced[0, 0]) == (0, 0, 255) and tuple(replaced[10, 15]) == (200, 200, 200)
    assert matte.coverage == pytest.approx(100 / 600)
    back = result_from_dict(json.loads(matte.to_json()))
    np.testing.assert_array_equal(back.mask, matte.mask)
    with pytest.raises(ValueError, match="matte is"):
        matte.cutout(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        Matte(alpha=np.full((2, 2), 1.5))
