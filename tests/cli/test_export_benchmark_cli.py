"""`visiona export`, `visiona benchmark` and `predict --backend` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colour_model import colour_checkpoint, make_colours
from tests_support import require_module

require_module("onnxruntime")


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return colour_checkpoint(tmp_path / "run" / "best")


def test_export_then_predict_with_the_onnx_file(cli, checkpoint, tmp_path) -> None:
    data = make_colours(tmp_path / "colours")
    out = tmp_path / "exports" / "colours.onnx"
    result = cli(
        "export", checkpoint, "--format", "onnx", "-o", out, "--verify-images", data, "--json"
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)["export"]
    assert report["verification"]["passed"] and report["verification"]["images"] == 8
    assert "verified against PyTorch on 8 images" in result.err and f"wrote {out}" in result.err
    by_onnx = cli("predict", "classify", data, "--model", out, "--json", "-k", "2")
    by_torch = cli("predict", "classify", data, "--model", checkpoint, "--json", "-k", "2")
    assert by_onnx.code == 0 and by_torch.code == 0, by_onnx.err
    onnx_top = [item["top"][0]["label"] for item in json.loads(by_onnx.out)]
    assert onnx_top == [item["top"][0]["label"] for item in json.loads(by_torch.out)]
    assert onnx_top.count("red") == 5
    # Explicitly asking for the torch backend on an ONNX file is a usage error.
    wrong = cli("predict", "classify", data, "--model", out, "--backend", "torch")
    assert wrong.code == 2 and "ONNX file" in wrong.err
    typo = cli("predict", "classify", data, "--model", checkpoint, "--backend", "onx")
    assert typo.code == 2 and "onnx" in typo.err


def test_export_int8_reports_accuracy(cli, checkpoint, tmp_path) -> None:
    data = make_colours(tmp_path / "colours")
    out = tmp_path / "c.onnx"
    result = cli(
        "export", checkpoint, "-o", out, "--verify-images", data, "--int8", "static",
        "--calibration", data, "--accuracy-data", data, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    int8 = json.loads(
        result.out.split("\n", 1)[1] if result.out.startswith("top-1") else result.out
    )
    assert Path(int8["int8"]["path"]).name == "c.int8-static.onnx"
    assert int8["int8"]["accuracy"]["float_top1"] == pytest.approx(12 / 13)
    quantized = cli("predict", "classify", data, "--model", int8["int8"]["path"], "--json")
    assert quantized.code == 0 and len(json.loads(quantized.out)) == 13


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "coreml"], "unknown export format"),
        (["--int8", "static"], "--calibration"),
        (["--int8", "int4"], "dynamic or static"),
        (["--accuracy-data", "x"], "--int8"),
        (["-o", "model.pt"], ".onnx"),
    ],
)
def test_export_usage_errors(cli, checkpoint, tmp_path, args, message) -> None:
    before = sorted(tmp_path.rglob("*"))
    result = cli("export", checkpoint, *args, "--no-verify")
    assert result.code == 2 and message in result.err
    assert "Traceback" not in result.err and sorted(tmp_path.rglob("*")) == before


def test_export_missing_model_and_onnx_input(cli, tmp_path) -> None:
    missing = cli("export", str(tmp_path / "nope.safetensors"))
    assert missing.code == 2 and "not found" in missing.err
    already = tmp_path / "m.onnx"
    already.write_bytes(b"x")
    again = cli("export", already)
    assert again.code == 2 and "already an ONNX file" in again.err


def test_benchmark_table_and_json(cli, checkpoint, tmp_path) -> None:
    report_file = tmp_path / "bench" / "report.json"
    result = cli(
        "benchmark", checkpoint, "--backend", "torch,onnx", "--batch-size", "1,2",
        "--seconds", "0.05", "-o", report_file,
    )  # fmt: skip
    assert result.code == 0, result.err
    for header in ("images/s", "p50 ms", "p95 ms", "peak MiB", "% of peak"):
        assert header in result.out
    assert "GFLOPs/image" in result.out and "measured fp32 peak" in result.out
    data = json.loads(report_file.read_text())
    assert [(r["backend"], r["batch_size"]) for r in data["rows"]] == [
        ("torch", 1), ("torch", 2), ("onnx", 1), ("onnx", 2),
    ]  # fmt: skip
    assert data["peak_gflops"] > 0 and data["gflops_per_image"] > 0
    as_json = cli(
        "benchmark", checkpoint, "--backend", "onnx", "-b", "1", "--seconds", "0.05", "--json"
    )
    assert as_json.code == 0 and json.loads(as_json.out)["rows"][0]["backend"] == "onnx"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "tensorrt"], "unknown backend"),
        (["--batch-size", "0"], "positive"),
        (["--batch-size", "a,b"], "whole numbers"),
    ],
)
def test_benchmark_usage_errors(cli, checkpoint, args, message) -> None:
    result = cli("benchmark", checkpoint, *args)
    assert result.code == 2 and message in result.err


def test_benchmark_in_a_real_process(cli_process, checkpoint) -> None:
    result = cli_process("benchmark", checkpoint, "-b", "2", "--seconds", "0.05", "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)["rows"]
    assert {row["backend"] for row in rows} == {"torch", "onnx"}
