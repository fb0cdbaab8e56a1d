"""visiona train/evaluate/predict segment end to end on tiny files (real runs, real files)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segment_support import make_pairs, snapshot


@pytest.mark.slow
def test_train_predict_evaluate_export_segment(cli, tmp_path) -> None:
    data = make_pairs(tmp_path / "data", count=3, split="train")
    make_pairs(tmp_path / "data", count=2, seed=1, split="val")
    before = snapshot(data)
    result = cli(
        "train", "segment", "--data", data, "--epochs", "2", "--crop", "32",
        "--crops-per-epoch", "8", "--batch-size", "4", "--arch-opt", "width=4",
        "--arch-opt", "depth=2", "--project", tmp_path / "runs", "--lr", "0.01",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "val/miou" in result.err
    run = tmp_path / "runs" / "segment" / "train"
    best = json.loads((run / "best.json").read_text())
    assert {"val/miou", "val/dice", "val/pixel_acc"} <= set(best["metrics"])
    assert best["weights"]["class_colors"] == [[0, 0, 0], [255, 0, 0]]
    assert (run / "curves.png").is_file()

    images = data / "val" / "images"
    out = cli(
        "predict", "segment", images, "-m", run / "best", "--json", "--save", tmp_path / "ov",
        "--masks", tmp_path / "masks", "--tile", "32", "--overlap", "8",
    )  # fmt: skip
    assert out.code == 0, out.err
    results = json.loads(out.out)
    assert len(results) == 2 and results[0]["task"] == "segment"
    assert results[0]["names"] == ["background", "square"]
    assert sum(c["area"] for c in results[0]["classes"]) == 64 * 64
    mask = Image.open(tmp_path / "masks" / "000.png")
    assert mask.mode == "P" and mask.size == (64, 64)
    assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 1}
    assert Image.open(tmp_path / "ov" / "000.png").size == (64, 64)

    evaluation = cli(
        "evaluate", "segment", "-m", run / "best", "-d", data, "--json", "-o", tmp_path / "ev"
    )
    assert evaluation.code == 0, evaluation.err
    report = json.loads(evaluation.out)
    assert report["num_images"] == 2 and report["subset"] == "val"
    assert 0 <= report["miou"] <= 1
    assert set(report["per_class"]) == {"background", "square"}
    matrix = np.array(report["confusion_matrix"])
    assert matrix.sum() == 2 * 64 * 64
    for name in ("metrics.json", "confusion_matrix.png", "worst_images.png"):
        assert (tmp_path / "ev" / name).is_file()

    onnx_file = tmp_path / "seg.onnx"
    exported = cli("export", run / "best", "-o", onnx_file, "--verify-images", images)
    assert exported.code == 0, exported.err + exported.out
    via_onnx = cli("predict", "segment", images, "-m", onnx_file, "--json", "--tile", "32",
                   "--overlap", "8")  # fmt: skip
    assert via_onnx.code == 0, via_onnx.err
    onnx_results = json.loads(via_onnx.out)
    for ours, theirs in zip(onnx_results, results, strict=True):
        assert ours["classes"] == theirs["classes"]
    assert snapshot(data) == before  # nothing written into the data folder


def test_bad_pairs_are_reported_per_file(cli, tmp_path) -> None:
    data = make_pairs(tmp_path / "data", count=3)
    Image.new("L", (10, 10)).save(data / "masks" / "001.png")  # size mismatch
    (data / "masks" / "002.png").unlink()  # missing mask
    Image.new("RGB", (64, 64), (1, 2, 3)).save(data / "images" / "003.png")
    Image.new("L", (64, 64), 7).save(data / "masks" / "003.jpg")  # id 7, lossy
    Image.new("RGB", (1, 1)).save(data / "images" / "004.png")
    Image.new("RGB", (64, 64), (9, 9, 9)).save(data / "masks" / "004.png")
    Image.new("RGB", (64, 64), (0, 200, 0)).save(data / "images" / "005.png")
    Image.new("RGB", (64, 64), (0, 200, 0)).save(data / "masks" / "005.png")  # unknown colour
    before = snapshot(data)
    result = cli("data", "check", data)
    assert result.code == 1
    lines = result.out
    assert "masks/001.png: mask is 10×10, its image 64×64" in lines
    assert "images/002.png: no mask for this image" in lines
    assert "masks/003.jpg: class ids outside the class list" in lines and ": 7" in lines
    assert "images/004.png: image is 1×1 pixels" in lines
    assert "masks/005.png: RGB colours not in the class palette: #00c800" in lines
    assert "errors found: 5 errors" in lines
    assert snapshot(data) == before


def test_make_segment_shapes_and_check(cli, tmp_path) -> None:
    out = tmp_path / "shapes"
    made = cli("data", "make", "segment-shapes", out, "--images", "1", "--size", "64")
    assert made.code == 0, made.err
    assert len(list((out / "train" / "images").iterdir())) == 1
    assert len(list((out / "val" / "masks").iterdir())) == 5
    checked = cli("data", "check", out)
    assert checked.code == 0, checked.out
    assert "triangle" in checked.out and "ok: 0 errors" in checked.out


def test_usage_errors_are_one_line(cli, tmp_path) -> None:
    data = make_pairs(tmp_path / "data", count=3)
    bad_loss = cli("train", "segment", "-d", data, "--loss", "hinge")
    assert bad_loss.code == 2 and "--loss must be one of ce, dice, focal, ce+dice" in bad_loss.err
    bad_encoder = cli("train", "segment", "-d", data, "-m", "unet", "--arch-opt", "encoder=resnt18",
                      "--project", tmp_path / "runs")  # fmt: skip
    assert bad_encoder.code == 2 and "unknown encoder 'resnt18'" in bad_encoder.err
    assert "resnet18" in bad_encoder.err
    bad_tile = cli("predict", "segment", data / "images", "-m", "unet_tiny", "--random-init",
                   "--tile", "8")  # fmt: skip
    assert bad_tile.code == 2 and "--tile" in bad_tile.err
    empty = tmp_path / "empty"
    (empty / "images").mkdir(parents=True)
    assert cli("data", "check", empty).code == 2


@pytest.mark.slow
def test_resume_continues_a_segment_run(cli, tmp_path) -> None:
    data = make_pairs(tmp_path / "data", count=4)
    common = ("--project", tmp_path / "runs")
    first = cli("train", "segment", "-d", data, "--epochs", "1", "--crop", "32",
                "--crops-per-epoch", "4", "--arch-opt", "width=4", "--arch-opt", "depth=2",
                "--loss", "focal", "--class-weights", "auto", *common)  # fmt: skip
    assert first.code == 0, first.err
    run = tmp_path / "runs" / "segment" / "train"
    resumed = cli("train", "segment", "--resume", run, "--epochs", "2")
    assert resumed.code == 0, resumed.err
    assert json.loads((run / "last.json").read_text())["epoch"] == 2
