"""MediaPipe pose, hands, face mesh and selfie segmentation on real photos."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from perception_support import ASTRONAUT_HEAD, astronaut, chelsea, inside, needs, needs_packaged
from visiona.errors import UsageError, WeightsUnavailableError
from visiona.results.keypoints import Keypoints
from visiona.results.matte import Matte
from visiona.results.skeletons import POSE_NAMES
from visiona.tasks.base import get_task

pytestmark = needs("mediapipe")


@functools.cache
def _model(task: str, backend: str | None = None):
    return get_task(task).build(backend)


@functools.cache
def _face_box() -> np.ndarray:
    return _model("faces", "blazeface")(astronaut()).xyxy[0]


@pytest.mark.parametrize(
    "complexity",
    [
        pytest.param("lite", marks=needs_packaged("mediapipe_pose.lite")),
        "full",
        pytest.param("heavy", marks=[needs_packaged("mediapipe_pose.heavy"), pytest.mark.slow]),
    ],
)
def test_pose_has_33_landmarks_with_the_nose_in_the_face_box(complexity: str) -> None:
    pose = _model("pose", complexity)(astronaut())
    assert isinstance(pose, Keypoints) and len(pose) == 1 and pose.names == POSE_NAMES
    assert pose.points.shape == (1, 33, 3) and pose.model == f"mediapipe_pose.{complexity}"
    assert inside(pose.point("nose"), _face_box())
    visibility = dict(zip(POSE_NAMES, pose.visibility[0], strict=True))
    assert visibility["nose"] > 0.9 and visibility["left_shoulder"] > 0.5
    # Her shoulders are below her head, on either side of the nose.
    left, right, nose = (
        pose.point("left_shoulder"),
        pose.point("right_shoulder"),
        pose.point("nose"),
    )
    assert min(left[1], right[1]) > nose[1] and right[0] < nose[0] < left[0]


def test_unknown_pose_complexity_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown pose backend"):
        get_task("pose").build("medium")


def test_no_pose_on_a_cat_photo() -> None:
    assert len(_model("pose", "full")(chelsea())) == 0


def test_pose_without_the_npm_package_names_the_npm_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_NPM_PREFIX", str(tmp_path / "nothing"))
    with pytest.raises(WeightsUnavailableError) as error:
        get_task("pose").build("heavy")
    assert "npm install --prefix" in str(error.value) and "@mediapipe/pose@" in str(error.value)


def test_face_mesh_has_478_points_on_the_face() -> None:
    mesh = _model("facemesh")(astronaut())
    assert len(mesh) == 1 and mesh.points.shape == (1, 478, 3)
    xy = mesh.points[0, :, :2]
    assert np.mean([inside(p, ASTRONAUT_HEAD) for p in xy]) > 0.98
    assert len(mesh.edges) > 100 and len(_model("facemesh")(chelsea())) == 0


def test_hands_structure_and_no_hands_on_a_cat() -> None:
    hands = _model("hands")(chelsea())
    assert isinstance(hands, Keypoints) and len(hands) == 0 and len(hands.names) == 21
    with pytest.raises(UsageError):
        get_task("hands").build(None, max_hands=0)


@pytest.mark.parametrize("model", ["general", "landscape"])
def test_selfie_mask_covers_the_person_not_the_corners(model: str) -> None:
    matte = _model("matting", model)(astronaut())
    assert isinstance(matte, Matte) and matte.alpha.shape == (512, 512)
    mask = matte.mask
    x0, y0, x1, y1 = _face_box().astype(int)
    assert mask[y0:y1, x0:x1].mean() > 0.9  # her face
    assert mask[300:400, 200:300].mean() > 0.9  # her chest
    for corner in (mask[:40, :40], mask[:40, -40:]):  # sky-blue wall and the flag
        assert corner.mean() < 0.1
    assert 0.25 < matte.coverage < 0.8
    # Selfie segmentation separates a foreground subject, it is not a person detector: on the
    # cat photo it marks the cat, so nothing is asserted there.
