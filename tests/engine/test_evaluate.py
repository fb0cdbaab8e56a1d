"""evaluate_classifier and evaluation_samples on solid-colour images and a hand-wired model.

The tiny ``test_classifier`` gets weights set by hand so that its logits are 4 × (mean colour
channel + 1): it predicts red/green/blue by colour, exactly and deterministically. Images are
mirror-symmetric, so horizontal-flip TTA must change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colour_model import (
    CLASSES,
    RGB,
    colour_checkpoint,
    colour_module,
    colour_record,
    make_colours,
    write_image,
)
from visiona.data.dataset import BadImage
from visiona.data.folder import Sample, scan_folder, stratified_split
from visiona.engine.evaluate.classify import evaluate_classifier, evaluation_samples
from visiona.errors import InputNotFoundError, UsageError, VisionaError
from visiona.models.load import LoadedModel, load_model
from visiona.models.tiny import TINY_PREPROCESSING


@pytest.fixture
def model(tmp_path: Path) -> LoadedModel:
    return load_model(colour_checkpoint(tmp_path / "run" / "best"))


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    return make_colours(tmp_path / "colours")


def reference_probabilities(module, samples: list[Sample]) -> np.ndarray:
    """Softmax of the model's logits, run directly (no DataLoader, no torchmetrics)."""
    import torch

    from visiona.data.transforms import eval_transform
    from visiona.io.images import load_image

    transform = eval_transform(TINY_PREPROCESSING)
    batch = torch.stack(
        [transform(torch.from_numpy(load_image(s.path).array).permute(2, 0, 1)) for s in samples]
    )
    with torch.no_grad():
        logits = module(batch).double().numpy()
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_metrics_match_a_numpy_reference(model, colours) -> None:
    samples = evaluation_samples(colours, CLASSES)
    report = evaluate_classifier(model, samples, top_k=(1, 2, 5), device="cpu")

    probs = reference_probabilities(model.module, samples)
    labels = np.array([s.label for s in samples])
    predicted = probs.argmax(axis=1)
    matrix = np.zeros((3, 3), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    tp = np.diag(matrix).astype(float)
    precision = tp / matrix.sum(axis=0)
    recall = tp / matrix.sum(axis=1)
    f1 = 2 * precision * recall / (precision + recall)
    ranks = np.argsort(-probs, axis=1)
    loss = -np.log(probs[np.arange(len(labels)), labels])

    # Known by construction: the orange image filed under green is predicted red.
    assert matrix.tolist() == [[4, 0, 0], [1, 4, 0], [0, 0, 4]]
    assert report.num_images == 13 and report.skipped == [] and not report.tta
    assert report.accuracy == pytest.approx(12 / 13) == pytest.approx(np.mean(predicted == labels))
    assert set(report.top_k) == {1, 2}  # 5 > 3 classes is dropped
    assert report.top_k[1] == pytest.approx(12 / 13)
    assert report.top_k[2] == pytest.approx((ranks[:, :2] == labels[:, None]).any(axis=1).mean())
    assert report.top_k[2] == pytest.approx(1.0)
    assert report.classes == list(CLASSES)
    np.testing.assert_array_equal(report.confusion_matrix, matrix)
    assert [row["class"] for row in report.per_class] == list(CLASSES)
    for i, row in enumerate(report.per_class):
        assert row["precision"] == pytest.approx(precision[i])
        assert row["recall"] == pytest.approx(recall[i])
        assert row["f1"] == pytest.approx(f1[i])
        assert row["support"] == matrix[i].sum()
    assert report.per_class[0]["precision"] == pytest.approx(0.8)
    assert report.per_class[1]["recall"] == pytest.approx(0.8)
    assert report.macro_f1 == pytest.approx(f1.mean())
    assert report.most_confused == [("green", "red", 1)]

    worst = report.highest_loss[0]
    assert Path(worst["path"]).name == "zz_wrong.png"
    assert (worst["true"], worst["predicted"]) == ("green", "red")
    assert worst["probability"] == pytest.approx(probs[labels == 1][-1].max(), rel=1e-5)
    assert [r["loss"] for r in report.highest_loss] == pytest.approx(
        sorted(loss, reverse=True), rel=1e-4, abs=1e-6
    )
    assert report.files == {}  # nothing written without out_dir


def test_default_top_k_drops_k_above_the_class_count(model, colours) -> None:
    report = evaluate_classifier(model, evaluation_samples(colours, CLASSES), device="cpu")
    assert report.top_k == {1: pytest.approx(12 / 13)}


def test_top5_with_more_model_classes_than_data_classes(tmp_path, colours) -> None:
    classes = (*CLASSES, "cyan", "magenta", "yellow")
    model = load_model(colour_checkpoint(tmp_path / "six" / "best", classes))
    report = evaluate_classifier(model, evaluation_samples(colours, classes), device="cpu")
    assert report.top_k == {1: pytest.approx(12 / 13), 5: pytest.approx(1.0)}
    # Classes with neither images nor predictions are left out of the table and matrix.
    assert report.classes == list(CLASSES)
    assert report.confusion_matrix.shape == (3, 3)


def test_tta_runs_and_changes_nothing_on_mirror_symmetric_images(
    model, colours, monkeypatch
) -> None:
    import visiona.data.transforms as transforms

    calls = []
    original = transforms.hflip_tta

    def spy(images):
        calls.append(images.shape[0])
        return original(images)

    monkeypatch.setattr(transforms, "hflip_tta", spy)
    samples = evaluation_samples(colours, CLASSES)
    plain = evaluate_classifier(model, samples, device="cpu", batch_size=5)
    assert calls == []
    flipped = evaluate_classifier(model, samples, device="cpu", batch_size=5, tta=True)
    assert calls == [5, 5, 3] and flipped.tta
    assert flipped.accuracy == plain.accuracy
    np.testing.assert_array_equal(flipped.confusion_matrix, plain.confusion_matrix)
    assert [r["path"] for r in flipped.highest_loss] == [r["path"] for r in plain.highest_loss]
    assert [r["loss"] for r in flipped.highest_loss] == pytest.approx(
        [r["loss"] for r in plain.highest_loss], rel=1e-5, abs=1e-7
    )


def test_binary_single_logit_model(tmp_path) -> None:
    import torch

    data = tmp_path / "binary"
    for i in range(3):
        write_image(data / "red" / f"r{i}.png", RGB["red"], seed=i)
        write_image(data / "other" / f"g{i}.png", RGB["green"], seed=10 + i)
        write_image(data / "other" / f"b{i}.png", RGB["blue"], seed=20 + i)
    module = colour_module(1)  # one logit: 4 · (red feature) ...
    with torch.no_grad():
        module[7].bias.fill_(-4.0)  # ... − 4: positive for red only
    classes = ("other", "red")
    model = LoadedModel(module, "test_classifier", colour_record(classes), "file", "x", "classify")
    report = evaluate_classifier(model, evaluation_samples(data, classes), device="cpu")
    assert report.top_k == {1: 1.0} and report.accuracy == 1.0
    np.testing.assert_array_equal(report.confusion_matrix, [[6, 0], [0, 3]])


def test_corrupt_image_is_skipped_and_listed(model, colours) -> None:
    broken = colours / "red" / "broken.png"
    broken.write_bytes(b"not an image at all")
    samples = evaluation_samples(colours, CLASSES)
    assert len(samples) == 14
    report = evaluate_classifier(model, samples, device="cpu", max_bad_fraction=0.1)
    assert report.num_images == 13 and report.accuracy == pytest.approx(12 / 13)
    assert [bad.path for bad in report.skipped] == [str(broken)]
    assert isinstance(report.skipped[0], BadImage) and report.skipped[0].reason
    assert report.to_dict()["skipped"][0]["path"] == str(broken)


def test_too_many_corrupt_images_abort(model, colours) -> None:
    (colours / "red" / "broken.png").write_bytes(b"not an image at all")
    samples = evaluation_samples(colours, CLASSES)
    with pytest.raises(VisionaError, match="1 of 14 images cannot be read"):
        evaluate_classifier(model, samples, device="cpu")  # 7% > 5% default


def test_outputs_written(model, colours, tmp_path) -> None:
    out = tmp_path / "eval"
    samples = evaluation_samples(colours, CLASSES)
    report = evaluate_classifier(model, samples, device="cpu", out_dir=out, loss_grid=6)
    assert report.files == {
        "metrics": out / "metrics.json",
        "confusion_matrix": out / "confusion_matrix.png",
        "highest_loss": out / "highest_loss.png",
    }
    for name in ("confusion_matrix", "highest_loss"):
        with Image.open(report.files[name]) as image:
            assert image.format == "PNG"
            assert image.width > 300 and image.height > 200
    written = json.loads((out / "metrics.json").read_text())
    assert written == json.loads(json.dumps(report.to_dict()))
    assert written["accuracy"] == pytest.approx(12 / 13)
    assert written["top_k"] == {"1": pytest.approx(12 / 13)}
    assert written["confusion_matrix"] == [[4, 0, 0], [1, 4, 0], [0, 0, 4]]
    assert written["most_confused"] == [{"true": "green", "predicted": "red", "count": 1}]
    assert len(written["highest_loss"]) == 6
    assert written["files"]["highest_loss"] == str(out / "highest_loss.png")


def test_bad_arguments(model, colours) -> None:
    samples = evaluation_samples(colours, CLASSES)
    with pytest.raises(UsageError, match="at least 1"):
        evaluate_classifier(model, samples, top_k=(0,), device="cpu")
    with pytest.raises(InputNotFoundError):
        evaluate_classifier(model, [], device="cpu")
    with pytest.raises(ValueError, match="labels"):
        evaluate_classifier(model, [Sample(samples[0].path, 7)], device="cpu")


# --- which images: evaluation_samples -------------------------------------------------------


def test_whole_folder_is_labelled_in_the_model_class_order(colours) -> None:
    samples = evaluation_samples(colours, CLASSES)
    labels = {s.path.name: s.label for s in samples}
    assert labels["red0.png"] == 0 and labels["green0.png"] == 1 and labels["blue0.png"] == 2
    assert labels["zz_wrong.png"] == 1


def test_unknown_class_folder_is_a_usage_error(colours) -> None:
    write_image(colours / "purple" / "p.png", (200, 0, 200), seed=1)
    with pytest.raises(UsageError, match="classes the model does not know: purple"):
        evaluation_samples(colours, CLASSES)


def test_explicit_split_folders(tmp_path) -> None:
    data = tmp_path / "splits"
    for split, count in (("train", 1), ("val", 2), ("test", 3)):
        make_colours(data / split, per_class=count, mislabelled=False)

    def parts(subset: str) -> set[str]:
        return {
            s.path.relative_to(data).parts[0] for s in evaluation_samples(data, CLASSES, subset)
        }

    assert len(evaluation_samples(data, CLASSES)) == 9 and parts("auto") == {"test"}
    assert parts("val") == {"val"} and parts("train") == {"train"} and parts("test") == {"test"}
    # Labels follow the model's order, not the folder's alphabetical one.
    assert {s.path.parent.name: s.label for s in evaluation_samples(data, CLASSES)}["blue"] == 2

    import shutil

    shutil.rmtree(data / "test")
    assert parts("auto") == {"val"}
    with pytest.raises(InputNotFoundError, match="no test/ folder"):
        evaluation_samples(data, CLASSES, "test")
    only_test = tmp_path / "only_test"
    make_colours(only_test / "test", per_class=1, mislabelled=False)
    assert len(evaluation_samples(only_test, CLASSES)) == 3


def test_split_file_subsets(tmp_path, colours) -> None:
    splits = stratified_split(scan_folder(colours, classes=CLASSES), val_fraction=0.25, seed=0)
    split_file = tmp_path / "split.json"
    split_file.write_text(splits.to_json())
    val = evaluation_samples(colours, CLASSES, "val", split_file)
    assert val == list(splits.val) and len(val) == 3  # one per class
    assert evaluation_samples(colours, CLASSES, "train", split_file) == list(splits.train)
    assert evaluation_samples(colours, CLASSES, "auto", split_file) == list(splits.val)
    with pytest.raises(InputNotFoundError, match="no images"):
        evaluation_samples(colours, CLASSES, "test", split_file)  # split has no test part

    # Relative paths in the split follow the --data folder when the dataset moves.
    moved = colours.rename(tmp_path / "moved")
    assert evaluation_samples(moved, CLASSES, "val", split_file)[0].path.parent.parent == moved

    with pytest.raises(UsageError, match="checkpoint classes don't match the data"):
        evaluation_samples(moved, tuple(reversed(CLASSES)), "val", split_file)
    with pytest.raises(InputNotFoundError, match="split file not found"):
        evaluation_samples(moved, CLASSES, "val", tmp_path / "missing.json")


def test_subset_errors(colours, tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown subset"):
        evaluation_samples(colours, CLASSES, "holdout")
    with pytest.raises(UsageError, match="needs split folders"):
        evaluation_samples(colours, CLASSES, "val")
    with pytest.raises(InputNotFoundError, match="not found"):
        evaluation_samples(tmp_path / "nope", CLASSES)
