"""INT8 quantization (dynamic, static with calibration) and the benchmark engine."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest

from colour_model import colour_checkpoint, make_colours
from tests_support import require_module
from visiona.engine.benchmark import benchmark, count_gflops, measure_peak_gflops
from visiona.engine.export.quantize import accuracy_change, quantize
from visiona.errors import UsageError
from visiona.models.load import load_model
from visiona.models.onnx.convert import to_onnx

require_module("onnxruntime")


@pytest.fixture
def colour_model(tmp_path: Path):
    return load_model(str(colour_checkpoint(tmp_path / "run" / "best")))


def _ops(model_bytes: bytes) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load_from_string(model_bytes).graph.node)


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_keeps_record_and_accuracy(colour_model, tmp_path, mode) -> None:
    data = make_colours(tmp_path / "colours")  # 12 clean images + an orange one filed as green
    graph = to_onnx(colour_model)
    quantized = quantize(graph, mode, calibration=data if mode == "static" else None)
    ops = _ops(quantized.model_bytes)
    if mode == "static":
        assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > 0
    else:
        assert ops["DynamicQuantizeLinear"] > 0 or ops["ConvInteger"] > 0
    meta = {p.key: p.value for p in onnx.load_from_string(quantized.model_bytes).metadata_props}
    assert meta["visiona.quantization"] == f"int8-{mode}"
    assert quantized.weights == graph.weights
    change = accuracy_change(graph, quantized, data)
    assert change.images == 13
    assert change.float_accuracy == pytest.approx(12 / 13)  # the orange one is "wrong"
    assert change.int8_accuracy == pytest.approx(12 / 13) and change.agreement == 1.0
    assert change.to_dict()["change"] == 0.0


def test_static_needs_calibration_and_classes_must_match(colour_model, tmp_path) -> None:
    graph = to_onnx(colour_model)
    with pytest.raises(UsageError, match="calibration"):
        quantize(graph, "static")
    with pytest.raises(UsageError, match="dynamic or static"):
        quantize(graph, "int4")
    other = make_colours(tmp_path / "other")
    (other / "red").rename(other / "purple")
    with pytest.raises(UsageError, match="purple"):
        accuracy_change(graph, graph, other)


def test_benchmark_rows_and_flops(colour_model) -> None:
    report = benchmark(
        colour_model, backends=("torch", "onnx"), batch_sizes=(1, 4), seconds=0.05, min_runs=3
    )
    assert [(r.backend, r.batch_size) for r in report.rows] == [
        ("torch", 1), ("torch", 4), ("onnx", 1), ("onnx", 4),
    ]  # fmt: skip
    # test_classifier at 32×32: two 3×3 convs (3→8 at 32², 8→16 at 16²), then a 16→3 linear
    # (see models/tiny.py); FLOPs = 2 × multiply-adds.
    expected = 2 * (32 * 32 * 8 * 3 * 9 + 16 * 16 * 16 * 8 * 9 + 16 * 3) / 1e9
    assert report.gflops_per_image == pytest.approx(expected, rel=0.01)
    assert report.peak_gflops > 0.1
    for row in report.rows:
        assert row.runs >= 3 and row.images_per_s > 0
        assert 0 < row.latency_p50_ms <= row.latency_p95_ms
        assert row.peak_memory_mib > 50
        expected_fraction = row.images_per_s * report.gflops_per_image / report.peak_gflops
        assert row.fraction_of_peak == pytest.approx(expected_fraction)
    assert report.to_dict()["rows"][0]["backend"] == "torch"
    with pytest.raises(UsageError):
        benchmark(colour_model, batch_sizes=(0,))


def test_peak_probe_and_flops_of_an_onnx_file(colour_model, tmp_path) -> None:
    from visiona.engine.export.onnx import export_onnx

    assert measure_peak_gflops(seconds=0.05) > 0.1
    path = tmp_path / "c.onnx"
    export_onnx(colour_model, path, verify=False)
    # The ONNX file names its architecture: FLOPs are counted on the same network in PyTorch.
    assert count_gflops(load_model(str(path))) == pytest.approx(count_gflops(colour_model))
