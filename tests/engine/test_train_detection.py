"""Detection-family training: run folders, checkpoints that predict and evaluate, exact resume,
instance masks, keypoints, and bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests_support import interrupt_at_epoch, write_colour_folder
from visiona.data.detection.convert import read_dataset, write_dataset
from visiona.data.detection.shapes import make_shapes
from visiona.engine.evaluate.detect import evaluate_detector
from visiona.engine.predict.predictor import Predictor
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.detect_run import keypoint_flip_indices
from visiona.engine.train.fit import TrainingInterruptedError, resume_config, train
from visiona.errors import UsageError, VisionaError
from visiona.models.load import load_model

SMALL = {"width": 16, "min_size": 64}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "shapes"
    make_shapes(out, num_images=24, image_size=64, seed=3, fmt="coco")
    return out


@pytest.fixture(scope="module")
def shapes_with_keypoints(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shapes set with two keypoints per object: its box's left and right top corners."""
    dataset, _ = read_dataset(shapes)
    for image in dataset.images:
        for obj in image.objects:
            x0, y0, x1, _ = obj.box
            obj.keypoints = [x0 + 0.5, y0 + 0.5, 2, x1 - 0.5, y0 + 0.5, 2]
    dataset = replace(dataset, keypoint_names=("left_corner", "right_corner"), skeleton=((0, 1),))
    out = tmp_path_factory.mktemp("data") / "keypoints"
    write_dataset(dataset, out, "coco")
    return out


def config(data: Path, project: Path, task: str = "detect", **overrides) -> TrainConfig:
    values = {
        "task": task, "data": str(data), "project": str(project), "arch_options": dict(SMALL),
        "epochs": 1, "batch_size": 4, "seed": 2, "deterministic": True,
    }  # fmt: skip
    values.update(overrides)
    return TrainConfig.from_dict(values)


def test_run_folder_checkpoint_predicts_and_evaluates_like_validation(shapes, tmp_path) -> None:
    result = train(config(shapes, tmp_path / "runs", name="first"), progress=False)
    run = tmp_path / "runs" / "detect" / "first"
    assert result.run_dir == run and result.task == "detect"
    for name in ("config.yaml", "split.json", "best.safetensors", "last.json", "curves.png",
                 "checkpoints/last.ckpt", "logs/metrics.csv"):  # fmt: skip
        assert (run / name).is_file(), name
    split = json.loads((run / "split.json").read_text())
    assert split["classes"] == ["circle", "square", "triangle"]
    assert len(split["splits"]["val"]) > 0
    assert {"val/map", "val/map50", "train/loss_classifier"} <= set(result.best_metrics)

    loaded = load_model(run / "best", task="detect")
    assert loaded.weights.class_names == ("circle", "square", "triangle")
    assert loaded.arch_options == SMALL
    image = next((shapes / "images" / "val").iterdir())
    detections = Predictor(loaded, device="cpu").predict(image)[0]
    assert detections.names == loaded.weights.class_names
    assert detections.image_size == (64, 64)

    # visiona evaluate runs the Predictor; it must score exactly what validation scored.
    evaluation = evaluate_detector(loaded, shapes, device="cpu")
    assert evaluation.subset == "val"
    assert evaluation.boxes.map50 == pytest.approx(result.best_metrics["val/map50"], abs=1e-4)
    assert evaluation.boxes.map == pytest.approx(result.best_metrics["val/map"], abs=1e-4)


@pytest.mark.slow
def test_resume_after_interrupt_matches_an_uninterrupted_run(shapes, tmp_path) -> None:
    common = {"epochs": 2, "augment": "strong", "schedule": "cosine"}
    full = train(config(shapes, tmp_path / "r", name="full", **common), progress=False)
    with pytest.raises(TrainingInterruptedError, match="epochs 1-1 are saved") as info:
        train(
            config(shapes, tmp_path / "r", name="cut", **common),
            progress=False,
            callbacks=[interrupt_at_epoch(1)],
        )
    run = tmp_path / "r" / "detect" / "cut"
    assert f"visiona train detect --resume {run}" in str(info.value)
    resumed = train(resume_config(run, {}), resume=run, progress=False)
    expected = load_file(str(full.run_dir / "last.safetensors"))
    actual = load_file(str(resumed.run_dir / "last.safetensors"))
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key


def test_instance_segmentation_scores_masks_and_predicts_them(shapes, tmp_path) -> None:
    result = train(config(shapes, tmp_path / "runs", task="segment-instances"), progress=False)
    assert {"val/mask_map", "val/mask_map50"} <= set(result.best_metrics)
    loaded = load_model(result.best_checkpoint, task="segment-instances")
    image = next((shapes / "images" / "val").iterdir())
    detections = Predictor(loaded, device="cpu").predict(image, conf=0.0)[0]
    assert detections.masks is not None
    assert detections.masks.shape == (len(detections), 64, 64)
    evaluation = evaluate_detector(loaded, shapes, device="cpu")
    assert evaluation.masks is not None
    assert evaluation.masks.map50 == pytest.approx(result.best_metrics["val/mask_map50"], abs=1e-4)


def corner_error(loaded, data: Path, top: int = 10) -> float:
    """Mean distance, in box widths, from each predicted keypoint to where the data set puts it:
    the top-left and top-right corners of the object's box.

    Measured against each detection's own box (its ``top`` best per validation image): after
    one short epoch the boxes are still poor, and this isolates what the keypoint head learned.
    """
    predictor = Predictor(loaded, device="cpu")
    errors = []
    for image in sorted((data / "images" / "val").iterdir()):
        detections = predictor.predict(image, conf=0.0)[0]
        for index in np.argsort(-np.asarray(detections.scores))[:top]:
            x0, y0, x1, _ = detections.xyxy[index]
            corners = np.array([[x0, y0], [x1, y0]])
            distance = np.linalg.norm(detections.keypoints[index, :, :2] - corners, axis=1)
            errors.append(distance.mean() / max(x1 - x0, 1.0))
    assert len(errors) >= 10
    return float(np.mean(errors))


def test_keypoint_training_learns_the_data_sets_keypoints(shapes_with_keypoints, tmp_path) -> None:
    result = train(
        config(shapes_with_keypoints, tmp_path / "runs", task="keypoints"), progress=False
    )
    loaded = load_model(result.best_checkpoint, task="keypoints")
    assert loaded.arch_options["num_keypoints"] == 2
    image = next((shapes_with_keypoints / "images" / "val").iterdir())
    detections = Predictor(loaded, device="cpu").predict(image, conf=0.0)[0]
    assert detections.keypoints is not None
    assert detections.keypoints.shape[1:] == (2, 3)
    saved = tmp_path / "keypoints.json"
    saved.write_text(detections.to_json())
    assert json.loads(saved.read_text())["keypoint_columns"] == ["x", "y", "visibility"]
    # The error falls from where an untrained head puts keypoints (anywhere in the box: ~0.8
    # box widths measured) to near the corners (~0.06 after this one epoch).
    untrained = load_model(
        "keypointrcnn_small", task="keypoints", pretrained=False, num_classes=3,
        arch_options={**SMALL, "num_keypoints": 2},
    )  # fmt: skip
    before, after = (
        corner_error(untrained, shapes_with_keypoints),
        corner_error(loaded, shapes_with_keypoints),
    )
    assert before > 0.4 and after < 0.2 and after < before / 3, (before, after)


def test_keypoint_flip_map_pairs_left_and_right_names() -> None:
    names = ("nose", "left_eye", "right_eye", "Left Hand", "Right Hand", "l_foot", "r_foot")
    assert keypoint_flip_indices(names) == [0, 2, 1, 4, 3, 6, 5]
    assert keypoint_flip_indices(("a", "b")) is None


def test_bad_input_is_a_clear_usage_error(shapes, tmp_path) -> None:
    folder = write_colour_folder(tmp_path / "colours")
    with pytest.raises(VisionaError) as info:
        train(config(folder, tmp_path / "runs"), progress=False)
    assert "coco" in str(info.value).lower() or "label" in str(info.value).lower()
    with pytest.raises(UsageError, match="is a 'classify' model"):
        train(config(shapes, tmp_path / "runs", model="cnn", arch_options={}), progress=False)
    with pytest.raises(UsageError, match="--monitor must be one of"):
        train(config(shapes, tmp_path / "runs", monitor="val/acc"), progress=False)
    with pytest.raises(UsageError, match="classify only"):
        train(config(shapes, tmp_path / "runs", mixup=0.2), progress=False)
    assert not (tmp_path / "runs" / "detect").exists() or not any(
        (tmp_path / "runs" / "detect").iterdir()
    )


def test_label_problems_are_reported_and_left_out(shapes, tmp_path) -> None:
    data = tmp_path / "broken"
    dataset, _ = read_dataset(shapes)
    write_dataset(dataset, data, "yolo")
    label = next((data / "labels" / "train").glob("*.txt"))
    label.write_text(label.read_text() + "7 0.5 0.5 0.2 0.2\n0 0.5 0.5 0 0\n")
    before = label.read_bytes()
    result = train(config(data, tmp_path / "runs"), progress=False)
    messages = [str(p) for p in result.problems]
    rel = f"labels/train/{label.name}"
    lines = len(before.decode().splitlines())
    assert any(rel in m and f":{lines - 1}:" in m for m in messages), messages
    assert any(rel in m and f":{lines}:" in m for m in messages), messages
    assert label.read_bytes() == before  # reported, never fixed in place
    assert np.isfinite(result.best_metrics["train/loss"])


def test_python_api_trains_like_the_cli(shapes, tmp_path) -> None:
    import visiona

    result = visiona.train(
        "detect", data=shapes, epochs=1, batch_size=4, arch_options=SMALL,
        project=tmp_path / "runs", name="api", progress=False,
    )  # fmt: skip
    assert result.run_dir == tmp_path / "runs" / "detect" / "api"
    assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    with pytest.raises(UsageError, match="cannot train task"):
        visiona.train("depth", data=shapes, progress=False)
