"""The Predictor: batching, ROI, preprocessing policies, bad inputs in a stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from visiona.engine.predict.predictor import Predictor
from visiona.errors import ImageLoadError, UsageError
from visiona.models.load import load_model
from visiona.ops.preprocess import Roi, to_tensor
from visiona.results import Classification
from visiona.weights.record import Preprocessing


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return load_model("test_classifier", pretrained=False, num_classes=4)


def test_results_do_not_depend_on_batch_size(tiny_model, small_images) -> None:
    one = Predictor(tiny_model, batch_size=1, device="cpu").predict(small_images, top_k=4)
    many = Predictor(tiny_model, batch_size=8, device="cpu").predict(small_images, top_k=4)
    assert [r.source for r in one] == [str(p) for p in small_images]
    for a, b in zip(one, many, strict=True):
        assert isinstance(a, Classification) and a.labels == b.labels
        assert np.allclose(a.probabilities, b.probabilities, atol=1e-5)
        assert a.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_folder_array_and_pil_inputs(tiny_model, small_images) -> None:
    predictor = Predictor(tiny_model, device="cpu")
    from_folder = predictor.predict(small_images[0].parent, top_k=1)
    assert len(from_folder) == 3
    array = np.asarray(Image.open(small_images[0]).convert("RGB"))
    [from_array] = predictor.predict(array, top_k=1)
    [from_pil] = predictor.predict(Image.open(small_images[0]), top_k=1)
    assert from_array.class_ids.tolist() == from_folder[0].class_ids.tolist()
    assert np.allclose(from_pil.probabilities, from_folder[0].probabilities, atol=1e-6)


def test_stream_reports_bad_files_and_goes_on(tiny_model, small_images, tmp_path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    items = list(
        Predictor(tiny_model, device="cpu").stream([small_images[0], bad, small_images[1]])
    )
    assert [item.ok for item in items] == [True, False, True]
    assert "notes.jpg" in items[1].error.source
    with pytest.raises(ImageLoadError):
        Predictor(tiny_model, device="cpu").predict([bad])


def test_roi_classifies_only_the_centre(tiny_model) -> None:
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    image[25:75, 75:125] = 255  # a white square in the middle
    predictor = Predictor(tiny_model, device="cpu", roi="center:0.5")
    [result] = predictor.predict(image)
    assert result.roi == (75, 25, 125, 75)
    white = np.full((50, 50, 3), 255, dtype=np.uint8)
    [reference] = Predictor(tiny_model, device="cpu").predict(white)
    assert np.allclose(result.probabilities, reference.probabilities, atol=1e-6)


@pytest.mark.parametrize(
    ("spec", "box"),
    [("center:0.5", (75, 25, 125, 75)), ("center:1", (50, 0, 150, 100)),
     ("box:10,20,30,40", (10, 20, 30, 40)), ("box:150,20,400,400", (150, 20, 200, 100))],
)  # fmt: skip
def test_roi_boxes(spec: str, box: tuple[int, int, int, int]) -> None:
    assert Roi.parse(spec).box_for(200, 100) == box


@pytest.mark.parametrize("spec", ["center:0", "center:1.5", "middle", "box:5,5,1,1"])
def test_bad_roi_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="roi"):
        Roi.parse(spec)


def test_preprocessing_policies_match_torchvision_presets() -> None:
    from torchvision.transforms._presets import ImageClassification

    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (300, 451, 3), dtype=np.uint8)
    ours = to_tensor(image, Preprocessing(input_size=(224, 224), resize_size=232))
    reference = ImageClassification(crop_size=224, resize_size=232)(
        torch.from_numpy(image).permute(2, 0, 1)
    )
    assert ours.shape == (3, 224, 224)
    # Same policy; the two resize kernels round uint8 differently by at most one grey level.
    assert (ours - reference).abs().max() <= 1.01 / 255 / 0.224
    assert (ours - reference).abs().mean() < 0.005
    stretched = to_tensor(
        image, Preprocessing(input_size=(64, 96), resize="stretch", resize_size=None)
    )
    assert stretched.shape == (3, 64, 96)
    bgr = to_tensor(
        image,
        Preprocessing(input_size=(64, 96), resize="stretch", resize_size=None, color_order="BGR"),
    )
    assert torch.equal(bgr, stretched.flip(0))


def test_unknown_task_option_is_refused(tiny_model, small_images) -> None:
    with pytest.raises(UsageError, match="does not take option"):
        Predictor(tiny_model, device="cpu").predict(small_images[0], conf=0.5)


def test_bad_device_and_batch_size(tiny_model) -> None:
    with pytest.raises(UsageError, match="unknown device"):
        Predictor(tiny_model, device="gpu7")
    with pytest.raises(UsageError, match="batch size"):
        Predictor(tiny_model, batch_size=0, device="cpu")
