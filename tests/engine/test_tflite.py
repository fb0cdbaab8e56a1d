"""TFLite (LiteRT) export: metadata, parity, INT8, the tflite backend, foreign files.

One real conversion of the hand-wired colour classifier is shared by the module (litert-torch
takes ~20 s on a loaded CPU); the other tests reuse its bytes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from colour_model import CLASSES, colour_checkpoint, make_colours
from tests_support import require_module
from tflite_support import foreign_copy
from visiona.engine.export.onnx import ExportVerificationError
from visiona.engine.export.tflite import export_tflite, quantize_tflite, tflite_accuracy_change
from visiona.engine.predict.predictor import Predictor
from visiona.errors import InputNotFoundError, UsageError, WeightsError
from visiona.models.load import load_model
from visiona.models.tflite.convert import UnsupportedModelError, to_tflite, unsupported
from visiona.models.tflite.format import METADATA_NAME, read_metadata, with_metadata
from visiona.models.tflite.read import (
    ForeignPreprocessing,
    UnknownPreprocessingWarning,
    read_tflite,
)

TFLITE = 'pip install "visiona[tflite]" (or scripts/install_tflite_packages.sh)'
require_module("litert_torch", TFLITE)
require_module("ai_edge_litert", TFLITE)
require_module("ai_edge_quantizer", TFLITE)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_colours(tmp_path_factory.mktemp("tflite") / "colours")


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory: pytest.TempPathFactory):
    return load_model(str(colour_checkpoint(tmp_path_factory.mktemp("run") / "best")))


@pytest.fixture(scope="module")
def exported(colour_model, colours, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("out") / "sub" / "colours.tflite"
    report = export_tflite(colour_model, path, verify_images=[colours])
    assert report.verification is not None and report.verification.passed
    assert report.verification.images == 8 and report.verification.max_abs_diff < 1e-4
    assert report.size_bytes == path.stat().st_size
    return path


def test_file_carries_the_record_and_takes_uint8_nhwc(exported, colour_model) -> None:
    from ai_edge_litert.interpreter import Interpreter

    meta = json.loads(read_metadata(exported.read_bytes())[METADATA_NAME])
    assert meta["visiona.format"] == "visiona.tflite/1" and meta["visiona.task"] == "classify"
    assert json.loads(meta["visiona.weights"])["class_names"] == list(CLASSES)
    assert json.loads(meta["visiona.resize"])  # the geometric rule, spelled out
    interpreter = Interpreter(model_path=str(exported))
    [tensor] = interpreter.get_input_details()
    assert tensor["dtype"] == np.uint8 and list(tensor["shape"]) == [1, 32, 32, 3]
    [logits] = interpreter.get_output_details()
    assert logits["dtype"] == np.float32 and list(logits["shape"]) == [1, 3]
    reloaded = load_model(str(exported))
    assert reloaded.weights == colour_model.weights and reloaded.origin == "tflite"
    assert not list(exported.parent.glob("*.part"))


def test_tflite_file_predicts_like_the_checkpoint(exported, colour_model, colours) -> None:
    files = sorted(str(p) for p in colours.rglob("*.png"))
    ours = Predictor(load_model(str(exported)), batch_size=4)
    assert ours.backend.name == "tflite"  # the default for .tflite files
    theirs = Predictor(colour_model, backend="torch")
    for mine, ref in zip(ours.predict(files), theirs.predict(files), strict=True):
        assert mine.labels[0] == ref.labels[0]
        np.testing.assert_allclose(mine.probabilities, ref.probabilities, atol=1e-4)
    orange = next(r for r in ours.predict(files) if r.source.endswith("zz_wrong.png"))
    assert orange.labels[:2] == ("red", "green")


def test_tflite_backend_runs_a_batch_like_torch(exported, colour_model) -> None:
    backend = Predictor(load_model(str(exported)), backend="tflite").backend
    pixels = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    logits = backend(pixels)
    from visiona.ops.preprocess import normalize

    with torch.inference_mode():
        reference = colour_model.module(normalize(pixels, colour_model.weights.preprocessing))
    assert logits.shape == (5, 3)
    np.testing.assert_allclose(logits.numpy(), reference.numpy(), atol=1e-4)


def test_verification_failure_writes_nothing(colour_model, exported, monkeypatch, tmp_path):
    import visiona.engine.export.tflite as module

    graph = read_tflite(exported)
    monkeypatch.setattr("visiona.models.tflite.convert.to_tflite", lambda model: graph)
    monkeypatch.setattr(module, "run_tflite", lambda g, pixels: np.zeros((len(pixels), 3)))
    target = tmp_path / "bad.tflite"
    with pytest.raises(ExportVerificationError, match="nothing was written"):
        export_tflite(colour_model, target)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_keeps_the_record_and_the_accuracy(exported, colours, mode, tmp_path) -> None:
    graph = read_tflite(exported)
    quantized = quantize_tflite(graph, mode, calibration=colours if mode == "static" else None)
    assert quantized.quantization == f"int8-{mode}"
    path = tmp_path / "q.tflite"
    path.write_bytes(quantized.model_bytes)
    again = read_tflite(path)
    assert again.weights == graph.weights and again.quantization == f"int8-{mode}"
    change = tflite_accuracy_change(graph, quantized, colours)
    assert change.images == 13 and change.float_accuracy == pytest.approx(12 / 13)
    assert abs(change.change) <= 1 / 13 and change.agreement >= 12 / 13


def test_static_int8_needs_readable_calibration_images(exported, tmp_path) -> None:
    graph = read_tflite(exported)
    with pytest.raises(UsageError, match="calibration"):
        quantize_tflite(graph, "static")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(InputNotFoundError, match="calibration"):
        quantize_tflite(graph, "static", calibration=empty)
    (empty / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputNotFoundError, match="no readable image"):
        quantize_tflite(graph, "static", calibration=empty)


def test_foreign_file_runs_with_a_warning_unless_described(exported, colours, tmp_path) -> None:
    path = foreign_copy(exported, tmp_path)
    with pytest.warns(UnknownPreprocessingWarning, match="preprocessing is unknown"):
        graph = read_tflite(path)
    assert graph.kind == "foreign" and len(graph.weights.class_names) == 3
    assert graph.weights.preprocessing.input_size == (32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        described = read_tflite(path, ForeignPreprocessing(input_size=(32, 32), mean=(0.5,) * 3))
    assert described.weights.preprocessing.mean == (0.5, 0.5, 0.5)
    red = next(colours.glob("red/*.png"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [result] = Predictor(load_model(str(path))).predict([str(red)])
    assert result.class_ids[0] == 0  # uint8 input: the pixels go in as they are


def test_not_a_tflite_file_is_one_clear_error(tmp_path) -> None:
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match="not a valid TFLite file"):
        load_model(str(path))


def test_metadata_entry_is_replaced_not_duplicated(exported) -> None:
    data = with_metadata(exported.read_bytes(), METADATA_NAME, b"{}")
    assert read_metadata(data)[METADATA_NAME] == b"{}"
    names = list(read_metadata(data))
    assert names.count(METADATA_NAME) == 1


def test_detectors_and_unconvertible_ops_name_the_problem_and_onnx() -> None:
    detector = load_model("fasterrcnn_small", task="detect", pretrained=False)
    with pytest.raises(UnsupportedModelError, match="classifiers") as info:
        to_tflite(detector)
    assert "--format onnx" in str(info.value) and info.value.exit_code == 2
    error = RuntimeError("Lowering not found for torch.ops.aten._fft_r2c.default\nmore")
    message = str(unsupported(detector, error))
    assert "unsupported op torch.ops.aten._fft_r2c.default" in message
    assert "--format onnx" in message


def test_metadata_survives_constants_stored_after_the_flatbuffer(exported) -> None:
    """ai-edge-quantizer writes constants after the flatbuffer (offset/size); re-adding the
    metadata must keep them (EfficientNet-Lite0's INT8 file lost them once)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    data = exported.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    index = max(range(len(model.buffers)), key=lambda i: np.size(model.buffers[i].data))
    moved = bytes(np.asarray(model.buffers[index].data, dtype=np.uint8))
    buffer = model.buffers[index]
    buffer.data, buffer.offset, buffer.size = None, 1, len(moved)

    def pack() -> bytes:
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    start = (len(pack()) + 15) & ~15
    buffer.offset = start
    head = pack()
    external = head + b"\0" * (start - len(head)) + moved
    rewritten = with_metadata(external, METADATA_NAME, b"{}")
    stored = schema.Model.GetRootAsModel(rewritten, 0)
    assert all(stored.Buffers(i).Offset() <= 1 for i in range(stored.BuffersLength()))
    pixels = np.full((1, 32, 32, 3), 200, dtype=np.uint8)
    outputs = []
    for content in (data, rewritten):
        interpreter = Interpreter(model_content=content)
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], pixels)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(outputs[0], outputs[1])
