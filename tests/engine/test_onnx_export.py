"""ONNX export: embedded Weights record, dynamic batch, verification, ORT backend, parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from colour_model import CLASSES, colour_checkpoint, make_colours
from tests_support import require_module
from visiona.engine.export.onnx import (
    ExportVerificationError,
    export_onnx,
    match_detections,
    to_onnx,
    verify_export,
)
from visiona.engine.predict.predictor import Predictor
from visiona.errors import UsageError, WeightsError
from visiona.models.load import load_model
from visiona.models.onnx.format import INPUT_NAME
from visiona.models.onnx.read import read_onnx

require_module("onnxruntime")


@pytest.fixture
def colour_model(tmp_path: Path):
    return load_model(str(colour_checkpoint(tmp_path / "run" / "best")))


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    return make_colours(tmp_path / "colours")


def test_export_embeds_the_record_and_reloads_it(colour_model, colours, tmp_path) -> None:
    path = tmp_path / "out" / "colours.onnx"
    report = export_onnx(colour_model, path, verify_images=[colours])
    assert report.verification is not None and report.verification.passed
    assert report.verification.images == 8  # capped, from the labelled folder
    proto = onnx.load(str(path))
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    assert meta["visiona.task"] == "classify" and meta["visiona.format"] == "visiona.onnx/1"
    [graph_input] = proto.graph.input
    assert graph_input.name == INPUT_NAME
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    reloaded = load_model(str(path))
    assert reloaded.weights == colour_model.weights  # class names, preprocessing, task
    assert reloaded.origin == "onnx" and reloaded.architecture == "test_classifier"
    assert not list(path.parent.glob("*.part"))


def test_onnx_file_predicts_like_the_checkpoint(colour_model, colours, tmp_path) -> None:
    path = tmp_path / "colours.onnx"
    export_onnx(colour_model, path, verify_images=[colours])
    onnx_predictor = Predictor(load_model(str(path)), batch_size=5)  # 13 images: 5 + 5 + 3
    assert onnx_predictor.backend.name == "onnx"  # chosen from the file type
    eager = Predictor(colour_model, batch_size=4).predict(colours, top_k=3)
    ours = onnx_predictor.predict(colours, top_k=3)
    assert [r.labels for r in ours] == [r.labels for r in eager]
    for a, b in zip(ours, eager, strict=True):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
    assert [r.top1[0] for r in ours].count("red") == 5  # four reds and the orange one


def test_verification_fails_loudly_and_writes_nothing(
    colour_model, colours, tmp_path, monkeypatch
) -> None:
    exported = to_onnx(colour_model)
    with torch.no_grad():  # the PyTorch model drifts away from what was exported
        colour_model.module[7].weight.mul_(-1)
    check = verify_export(colour_model, exported, [np.full((32, 32, 3), 200, np.uint8)])
    assert not check.passed and check.max_abs_diff > check.tolerance
    # An exporter that produced the stale graph: the export must refuse to write it.
    monkeypatch.setattr("visiona.engine.export.onnx.to_onnx", lambda *a, **k: exported)
    path = tmp_path / "bad.onnx"
    with pytest.raises(ExportVerificationError, match="does not match PyTorch") as raised:
        export_onnx(colour_model, path, verify_images=[colours])
    assert "nothing was written" in str(raised.value)
    assert not path.exists() and not list(tmp_path.glob("*.part"))


def test_bad_destinations_and_foreign_files(colour_model, tmp_path) -> None:
    with pytest.raises(UsageError, match=r"\.onnx"):
        export_onnx(colour_model, tmp_path / "model.pt", verify=False)
    foreign = tmp_path / "foreign.onnx"
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    info = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph([node], "g", [info("x", 1, [1])], [info("y", 1, [1])])
    onnx.save(onnx.helper.make_model(graph), str(foreign))
    with pytest.raises(WeightsError, match="without visiona metadata"):
        read_onnx(foreign)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a protobuf at all" * 10)
    with pytest.raises(WeightsError, match="not a valid ONNX file"):
        load_model(str(junk))


def test_in_memory_onnx_backend_for_a_torch_model(colour_model, colours) -> None:
    predictor = Predictor(colour_model, backend="onnx", batch_size=16)
    assert predictor.backend.takes_pixels
    results = predictor.predict(colours)
    assert [r.top1[0] for r in results[:4]] == ["blue"] * 4  # sorted: blue/, green/, red/
    with pytest.raises(UsageError, match="CPU"):
        Predictor(colour_model, backend="onnx", device="cuda")


@pytest.mark.slow
def test_parity_eager_compiled_onnx(colour_model, colours, photos, tmp_path) -> None:
    """The same images through eager, torch.compile and ONNX Runtime give the same top-k."""
    path = tmp_path / "colours.onnx"
    export_onnx(colour_model, path, verify=False)
    inputs = [colours, *photos.values()]
    runs = {
        "torch": Predictor(colour_model, backend="torch", batch_size=8),
        "compiled": Predictor(colour_model, backend="compiled", batch_size=8),
        "onnx": Predictor(load_model(str(path)), batch_size=8),
    }
    results = {name: p.predict(inputs, top_k=3) for name, p in runs.items()}
    reference = results["torch"]
    assert len(reference) == 15
    for name in ("compiled", "onnx"):
        for ours, ref in zip(results[name], reference, strict=True):
            assert type(ours) is type(ref)
            assert ours.labels == ref.labels, name
            np.testing.assert_allclose(ours.probabilities, ref.probabilities, atol=1e-4)


@pytest.mark.slow
def test_dynamo_exporter_for_classifiers(colour_model, colours, tmp_path) -> None:
    report = export_onnx(colour_model, tmp_path / "d.onnx", dynamo=True, verify_images=[colours])
    assert report.exporter == "dynamo" and report.verification.passed
    session_predictions = Predictor(load_model(str(tmp_path / "d.onnx"))).predict(colours)
    assert [r.top1[0] for r in session_predictions][-5:] == ["red"] * 5
    assert set(CLASSES) == {r.top1[0] for r in session_predictions}


def _wake_up(detector: torch.nn.Module, photo: Path) -> None:
    """Make a random detector output distinct, confident boxes, like a trained one.

    Random init shrinks activations to ~1e-9 and scores every box ~1/91, so boxes tie and any
    runtime's rounding reorders them. Batch-norm statistics are set from one real image and
    the class head is sharpened.
    """
    from PIL import Image
    from torchvision.ops import FrozenBatchNorm2d

    def calibrate(layer: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        layer.running_mean.copy_(inputs[0].mean((0, 2, 3)))
        layer.running_var.copy_(inputs[0].var((0, 2, 3)) + 1e-3)

    norms = (FrozenBatchNorm2d, torch.nn.BatchNorm2d)
    hooks = [
        m.register_forward_pre_hook(calibrate) for m in detector.modules() if isinstance(m, norms)
    ]
    image = torch.from_numpy(np.array(Image.open(photo).convert("RGB"))).permute(2, 0, 1)
    with torch.no_grad():
        detector.eval()([image.float() / 255])
        for hook in hooks:
            hook.remove()
        head = detector.roi_heads.box_predictor.cls_score
        head.weight.mul_(20)
        head.bias[0] = -5.0  # background


@pytest.mark.slow
def test_detector_export_boxes_match_torch(tmp_path, photos) -> None:
    """Legacy exporter, one image per call with dynamic H/W; boxes equal eager's."""
    torch.manual_seed(0)
    model = load_model(
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        task="detect",
        pretrained=False,
        arch_options={"min_size": 160, "max_size": 200},
    )
    _wake_up(model.module, next(iter(photos.values())))
    with pytest.raises(UsageError, match="legacy exporter"):
        to_onnx(model, dynamo=True)
    path = tmp_path / "det.onnx"
    report = export_onnx(model, path, verify_images=list(photos.values()))
    assert report.verification.passed and report.exporter == "torchscript"
    compared = report.verification.detections  # what was compared, not a "top-1"
    assert compared is not None and compared.matched == compared.total > 0
    assert compared.max_box_diff <= report.verification.tolerance
    assert 0 <= compared.max_score_diff <= report.verification.tolerance
    line = report.verification.describe()
    assert (
        f"{compared.total} of {compared.total} detections matched" in line and "top-1" not in line
    )
    assert report.to_dict()["verification"]["detections"]["matched"] == compared.matched
    graph = read_onnx(path)
    assert not graph.batched and graph.outputs == ("boxes", "labels", "scores")
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == [3, "height", "width"]
    onnx_results = Predictor(load_model(str(path), task="detect")).predict(
        list(photos.values()), conf=0.0, iou=1.0
    )
    eager_results = Predictor(model).predict(list(photos.values()), conf=0.0, iou=1.0)
    assert min(sum(r.scores >= 0.27) for r in eager_results) >= 3  # compared: not vacuous
    for ours, ref in zip(onnx_results, eager_results, strict=True):
        as_output = [
            {"boxes": r.xyxy, "labels": r.class_ids, "scores": r.scores} for r in (ref, ours)
        ]
        diff = match_detections(*as_output)
        assert diff is not None and diff <= report.verification.tolerance


def _user_pixels(image: Image.Image, rule: dict, *, long_side=int, offset=round) -> np.ndarray:
    """What a user with only PIL and numpy makes from ``visiona.resize`` (``(3, h, w)`` uint8)."""
    assert rule["policy"] == "shorter_side_center_crop" and rule["antialias"] is True
    assert rule["long_side_rounding"] == "truncate"
    assert rule["crop_offset_rounding"] == "half_to_even"
    side, (crop_h, crop_w) = rule["resize_size"], rule["crop_size"]
    width, height = image.size
    if width <= height:
        size = (side, long_side(side * height / width))
    else:
        size = (long_side(side * width / height), side)
    filters = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
    resized = np.asarray(image.resize(size, filters[rule["interpolation"]]))
    top = offset((resized.shape[0] - crop_h) / 2)
    left = offset((resized.shape[1] - crop_w) / 2)
    return resized[top : top + crop_h, left : left + crop_w].transpose(2, 0, 1)


def test_metadata_alone_reproduces_the_preprocessing(tmp_path) -> None:
    """onnxruntime + PIL + numpy, guided only by the file's metadata, match visiona's predictor.

    215×160 and 160×215 images: the long side is 40·215/160 = 53.75, truncated to 53 (rounding
    gives 54), and the crop offset (53 - 32) / 2 = 10.5 rounds to even, 10 (half up gives 11).
    """
    import json

    import onnxruntime

    from visiona.models.load import load_model
    from visiona.ops.preprocess import resize_pixels
    from visiona.weights.checkpoint import save_checkpoint
    from visiona.weights.record import Preprocessing, Weights

    torch.manual_seed(0)
    module = load_model("test_classifier", pretrained=False, num_classes=3).module
    preprocessing = Preprocessing(
        input_size=(32, 32), resize="shorter_side_center_crop", resize_size=40,
        mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3),
    )  # fmt: skip
    record = Weights("test_classifier", "crop", preprocessing=preprocessing, class_names=CLASSES)
    checkpoint = save_checkpoint(tmp_path / "crop", module, "test_classifier", record)
    model = load_model(str(checkpoint))
    onnx_path = tmp_path / "crop.onnx"
    rng = np.random.default_rng(3)
    files = []
    for width, height in ((215, 160), (160, 215)):
        # 8-pixel blocks of random colour: still sharp after shrinking, so a one-pixel shift of
        # the crop shows.
        blocks = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
        photo = blocks.repeat(8, axis=0).repeat(8, axis=1)[:height, :width]
        files.append(tmp_path / f"photo_{width}x{height}.png")
        Image.fromarray(photo).save(files[-1])
    export_onnx(model, onnx_path, verify_images=files)

    proto = onnx.load(str(onnx_path))
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    rule = json.loads(meta["visiona.resize"])
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    predictions = Predictor(model, device="cpu").predict(files, top_k=3)
    for file, prediction in zip(files, predictions, strict=True):
        image = Image.open(file).convert("RGB")
        pixels = _user_pixels(image, rule)
        ours = resize_pixels(np.array(image), preprocessing).numpy()
        assert pixels.shape == ours.shape == (3, 32, 32)
        assert np.abs(pixels.astype(int) - ours.astype(int)).max() <= 1  # PIL vs torchvision
        # The rules matter: rounding the long side or the offset half up shifts the crop.
        for wrong in ({"long_side": round}, {"offset": lambda v: int(v + 0.5)}):
            shifted = _user_pixels(image, rule, **wrong)
            assert np.abs(shifted.astype(int) - ours.astype(int)).max() > 20, wrong
        [logits] = session.run(None, {INPUT_NAME: pixels[None]})
        probabilities = np.exp(logits[0] - logits[0].max())
        probabilities /= probabilities.sum()
        expected = dict(zip(prediction.labels, prediction.probabilities, strict=True))
        for name, value in zip(CLASSES, probabilities, strict=True):
            assert value == pytest.approx(expected[name], abs=2e-3), name
