"""``visiona train detect`` and ``visiona evaluate detect`` end to end, and their bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests_support import write_colour_folder
from visiona.data.detection.shapes import make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "shapes"
    make_shapes(out, num_images=16, image_size=64, seed=5, fmt="yolo")
    return out


@pytest.fixture(scope="module")
def trained(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from visiona.cli.app import main

    project = tmp_path_factory.mktemp("runs")
    args = ["train", "detect", "--data", str(shapes), "--epochs", "1", "--batch-size", "4",
            "--arch-opt", "width=16", "--arch-opt", "min_size=64", "--project", str(project),
            "--name", "cli"]  # fmt: skip
    try:
        main(args)
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return project / "detect" / "cli", str(project)


def test_train_detect_writes_a_run_that_predict_uses(trained, shapes, cli) -> None:
    run, _ = trained
    assert (run / "best.safetensors").is_file() and (run / "curves.png").is_file()
    result = cli("predict", "detect", shapes / "images" / "val", "--model", run / "best",
                 "--conf", "0", "--json")  # fmt: skip
    assert result.code == 0, result.err
    items = json.loads(result.out)
    assert len(items) == len(list((shapes / "images" / "val").iterdir()))
    assert all(set(item["names"]) == {"circle", "square", "triangle"} for item in items)


def test_evaluate_detect_reports_coco_metrics_and_writes_plots(trained, shapes, cli, tmp_path):
    run, _ = trained
    out = tmp_path / "eval"
    result = cli("evaluate", "detect", "-m", run / "best", "-d", shapes, "-o", out, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    best = json.loads((run / "best.json").read_text())["metrics"]
    assert report["subset"] == "val"
    assert report["boxes"]["map50"] == pytest.approx(best["val/map50"], abs=1e-4)
    assert {row["name"] for row in report["boxes"]["per_class"]} == {"circle", "square", "triangle"}
    for name in ("metrics.json", "pr_curves.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    defaults = {"conf": 0.001, "iou": 0.7, "max_det": 100}
    assert report["settings"] == defaults
    assert json.loads((out / "metrics.json").read_text())["settings"] == defaults
    table = cli("evaluate", "detect", "-m", run / "best", "-d", shapes, "--out", out)
    assert "mAP@.5" in table.out and "triangle" in table.out
    assert "prediction settings: conf 0.001, iou 0.7, max_det 100" in table.out


def test_evaluate_detect_uses_the_settings_given(trained, shapes, cli, tmp_path) -> None:
    run, _ = trained
    out = tmp_path / "eval"
    base = ("evaluate", "detect", "-m", run / "best", "-d", shapes, "--json")
    loose = json.loads(cli(*base, "--out", tmp_path / "loose").out)
    result = cli(*base, "--out", out, "--conf", "0.2", "--iou", "0.5", "--max-det", "1")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    settings = {"conf": 0.2, "iou": 0.5, "max_det": 1}
    assert report["settings"] == settings
    assert json.loads((out / "metrics.json").read_text())["settings"] == settings
    # One detection per image can recall at most one object per image: fewer than before.
    assert report["boxes"]["mar100"] < loose["boxes"]["mar100"]
    bad = cli(*base, "--out", out, "--max-det", "0")
    assert bad.code == 2 and "Traceback" not in bad.err


def test_detection_bad_input_exits_2_with_one_line(trained, shapes, cli, tmp_path) -> None:
    run, _ = trained
    colours = write_colour_folder(tmp_path / "colours")
    cases = [
        (("train", "detect", "--data", tmp_path / "missing", "--project", tmp_path), "missing"),
        (("train", "detect", "--data", shapes, "-m", "cnn", "--project", tmp_path), "classify"),
        (("train", "classify", "--resume", run), "'detect' run"),
        (("evaluate", "detect", "-m", run / "best", "-d", colours), "cannot tell the label format"),
        (("evaluate", "detect", "-m", run / "best", "-d", shapes, "--subset", "nope"), "subset"),
        (("evaluate", "detect", "-m", "cnn", "-d", shapes), "evaluate classify"),
        (
            ("evaluate", "detect", "-m", run / "best", "-d", shapes, "--output", shapes / "x"),
            "inside",
        ),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert "Traceback" not in result.err
        assert expected in result.err, (args, result.err)
    assert not (shapes / "x").exists()
