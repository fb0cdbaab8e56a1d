"""PerceptionPredictor and ``visiona.predict`` for packaged perception tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import visiona
from perception_support import astronaut, needs
from visiona.engine.predict.packaged import PerceptionPredictor
from visiona.errors import UsageError
from visiona.results import Faces, Matte


@needs("mediapipe")
def test_stream_reports_bad_files_and_stamps_sources(tmp_path: Path) -> None:
    Image.fromarray(astronaut()).save(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_bytes(b"not an image")
    items = list(PerceptionPredictor("faces").stream([tmp_path / "a.png", tmp_path / "b.jpg"]))
    assert [item.ok for item in items] == [True, False]
    faces = items[0].result
    assert isinstance(faces, Faces) and faces.source.endswith("a.png")
    assert faces.image_size == (512, 512) and len(faces) == 1
    assert "b.jpg" in str(items[1].error)


@needs("mediapipe")
def test_api_predict_runs_perception_tasks() -> None:
    [matte] = visiona.predict("matting", astronaut(), model="landscape", threshold=0.6)
    assert isinstance(matte, Matte) and matte.threshold == 0.6 and matte.model.endswith("landscape")


def test_non_perception_task_is_refused() -> None:
    with pytest.raises(UsageError, match="does not run packaged perception models"):
        PerceptionPredictor("classify")


@needs("cv2")
def test_packaged_models_run_through_the_one_predictor_with_roi() -> None:
    """A packaged model is a LoadedModel on the ``packaged`` backend of the ordinary Predictor,
    and a region of interest maps its results back to whole-image pixels."""
    from visiona.engine.predict import Predictor
    from visiona.engine.predict.backends import PackagedBackend

    image = astronaut()
    whole = Predictor.load("haar", task="faces")
    assert isinstance(whole.backend, PackagedBackend) and whole.model.origin == "package"
    [full] = whole.predict(image)
    assert len(full) == 1
    x0, y0 = 100, 10
    cropped = Predictor.load("haar", task="faces", roi=f"box:{x0},{y0},400,300")
    [in_roi] = cropped.predict(image)
    assert in_roi.image_size == (512, 512) and len(in_roi) == 1
    # Same face, found in the crop, reported in the photo's own pixels (not the crop's).
    assert abs(in_roi.xyxy[0] - full.xyxy[0]).max() < 12
    assert in_roi.xyxy[0][0] > x0


@needs("mediapipe")
def test_packaged_matte_of_a_roi_covers_the_whole_image() -> None:
    [matte] = PerceptionPredictor("matting", roi="box:100,0,400,300").predict(astronaut())
    assert matte.alpha.shape == (512, 512)
    assert matte.alpha[:, :100].max() == 0 and matte.alpha[300:, :].max() == 0
    assert matte.alpha[0:300, 100:400].max() > 0.5


def test_packaged_backend_refuses_a_network() -> None:
    from visiona.engine.predict.backends import make_backend
    from visiona.models.load import load_model

    model = load_model("cnn", pretrained=False, num_classes=2)
    with pytest.raises(UsageError, match="runs packaged perception models"):
        make_backend("packaged", model, "cpu")
