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
