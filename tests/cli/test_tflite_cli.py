"""`visiona export --format tflite` and .tflite files in predict, evaluate, benchmark and serve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colour_model import colour_checkpoint, make_colours
from tflite_support import foreign_copy

litert = pytest.mark.requires(modules=("litert_torch", "ai_edge_litert", "ai_edge_quantizer"))


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return colour_checkpoint(tmp_path / "run" / "best")


@litert
@pytest.mark.slow
def test_export_int8_then_every_command_runs_the_file(cli, checkpoint, tmp_path) -> None:
    data = make_colours(tmp_path / "colours")
    out = tmp_path / "exports" / "colours.tflite"
    result = cli(
        "export", checkpoint, "--format", "tflite", "-o", out, "--verify-images", data,
        "--int8", "static", "--calibration", data, "--accuracy-data", data, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    summary = json.loads(result.out)  # the accuracy line goes to stderr with --json
    assert summary["export"]["format"] == "tflite" and summary["export"]["verification"]["passed"]
    int8 = Path(summary["int8"]["path"])
    assert int8.name == "colours.int8-static.tflite" and int8.is_file()
    app = json.loads(out.with_suffix(".json").read_text())  # the asset an app bundles
    assert app["class_names"] == ["red", "green", "blue"] and app["input"]["dtype"] == "uint8"
    assert app["input"]["shape"] == [1, 32, 32, 3] and app["output"]["shape"] == [1, 3]
    assert json.loads(int8.with_suffix(".json").read_text())["quantization"] == "int8-static"
    assert summary["int8"]["accuracy"]["images"] == 13
    assert "verified on 8 images with LiteRT" in result.err and "INT8" in result.err

    by_tflite = cli("predict", "classify", data, "-m", int8, "--json", "-k", "1")
    by_torch = cli("predict", "classify", data, "-m", checkpoint, "--json", "-k", "1")
    assert by_tflite.code == 0, by_tflite.err
    top = [item["top"][0]["label"] for item in json.loads(by_tflite.out)]
    assert top == [item["top"][0]["label"] for item in json.loads(by_torch.out)]
    wrong = cli("predict", "classify", data, "-m", out, "--backend", "torch")
    assert wrong.code == 2 and "TFLite file" in wrong.err

    evaluated = cli("evaluate", "classify", "-m", out, "-d", data, "-o", tmp_path / "ev", "--json")
    assert evaluated.code == 0, evaluated.err
    assert json.loads(evaluated.out)["accuracy"] == pytest.approx(12 / 13)

    bench = cli("benchmark", out, "--backend", "tflite", "-b", "1,2", "--seconds", "0.05", "--json")
    assert bench.code == 0, bench.err
    rows = json.loads(bench.out)["rows"]
    assert [(row["backend"], row["batch_size"]) for row in rows] == [("tflite", 1), ("tflite", 2)]
    refused = cli("benchmark", out, "--backend", "onnx", "--seconds", "0.05")
    assert refused.code == 2 and "Traceback" not in refused.err

    from visiona.serve.models import _build_predictor

    predictor, task = _build_predictor(str(out), None, True)
    assert task == "classify" and predictor.backend.name == "tflite"

    # A file visiona did not write: runs, with one warning line unless described.
    foreign = foreign_copy(out, tmp_path)
    guessed = cli("predict", "classify", data, "-m", foreign, "--json")
    assert guessed.code == 0 and "warning:" in guessed.err and "--mean" in guessed.err
    described = cli("predict", "classify", data, "-m", foreign, "--mean", "0", "--std", "1")
    assert described.code == 0 and "warning" not in described.err


def test_bad_requests_are_one_line_before_any_conversion(cli, checkpoint, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    no_images = cli(
        "export", checkpoint, "--format", "tflite", "-o", tmp_path / "x.tflite",
        "--int8", "static", "--calibration", empty,
    )  # fmt: skip
    assert no_images.code == 2 and "--calibration" in no_images.err
    assert "Traceback" not in no_images.err and not (tmp_path / "x.tflite").exists()
    again = cli("export", tmp_path / "x.tflite", "--format", "tflite")
    assert again.code == 2 and "Traceback" not in again.err
    stray = cli("predict", "classify", tmp_path, "-m", checkpoint, "--mean", "0.5")
    assert stray.code == 2 and "foreign .tflite" in stray.err
    pte_int8 = cli("export", checkpoint, "--format", "pte", "--int8", "dynamic")
    assert pte_int8.code == 2 and "ExecuTorch export is float" in pte_int8.err
    typo = cli("export", checkpoint, "--format", "tflit")
    assert typo.code == 2 and "tflite" in typo.err


def test_without_the_runtime_the_error_names_the_extra(cli, tmp_path, monkeypatch) -> None:
    import sys

    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 64)
    images = make_colours(tmp_path / "colours", per_class=1, mislabelled=False)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # import fails as if absent
    result = cli("predict", "classify", images, "-m", model)
    assert result.code == 1 and "visiona[tflite]" in result.err
    assert "Traceback" not in result.err


@litert
def test_detector_export_names_the_problem_and_onnx(cli, tmp_path) -> None:
    result = cli(
        "export", "fasterrcnn_small", "--random-init", "--format", "tflite",
        "-o", tmp_path / "det.tflite",
    )  # fmt: skip
    assert result.code == 2 and "--format onnx" in result.err
    assert "Traceback" not in result.err and not (tmp_path / "det.tflite").exists()
