"""Classification training: run folders, exact resume, transfer learning, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tests_support import interrupt_at_epoch, write_colour_folder
from visiona.engine.train.callbacks import NonFiniteLossError
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import TrainingInterruptedError, resume_config, train_classifier
from visiona.errors import InputNotFoundError, UsageError, VisionaError
from visiona.models.load import load_model

TINY_CNN = {"blocks": 2, "width": 4, "dense": 8, "image_size": 16}


def visiona_predict(loaded, image):
    from visiona.engine.predict.predictor import Predictor

    return Predictor(loaded, device="cpu").predict(image)


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    return write_colour_folder(tmp_path / "colours")


def config(data: Path, project: Path, **overrides) -> TrainConfig:
    values = {
        "data": str(data), "project": str(project), "arch_options": dict(TINY_CNN),
        "batch_size": 8, "epochs": 2, "seed": 1, "augment": "light", "deterministic": True,
    }  # fmt: skip
    values.update(overrides)
    return TrainConfig(**values)


def test_run_folder_holds_everything_and_the_checkpoint_predicts(colours, tmp_path) -> None:
    result = train_classifier(config(colours, tmp_path / "runs", name="first"), progress=False)
    run = result.run_dir
    assert run == tmp_path / "runs" / "classify" / "first"
    for name in ("config.yaml", "split.json", "best.safetensors", "best.json", "last.json",
                 "last.safetensors", "checkpoints/last.ckpt", "curves.png", "logs/metrics.csv"):  # fmt: skip
        assert (run / name).is_file(), name
    assert list((run / "logs" / "tensorboard").rglob("events.out.tfevents*"))
    assert Image.open(run / "curves.png").size[0] > 300
    split = json.loads((run / "split.json").read_text())
    assert split["classes"] == ["blue", "green", "red"]
    assert len(split["train"]) == 24 and len(split["val"]) == 6  # stratified 80/20
    loaded = load_model(run / "best")
    assert loaded.weights.class_names == ("blue", "green", "red")
    assert loaded.arch_options["blocks"] == "2" or loaded.arch_options["blocks"] == 2
    assert result.epochs_run == 2 and 0 <= result.best_metrics["val/acc"] <= 1
    # A second run on the same data reuses the split and gets a fresh folder.
    again = train_classifier(
        config(colours, tmp_path / "runs", name="first", epochs=1), progress=False
    )
    assert again.run_dir.name == "first-2"
    assert json.loads((again.run_dir / "split.json").read_text()) == split


def test_training_learns_the_colours(colours, tmp_path) -> None:
    result = train_classifier(
        config(colours, tmp_path / "runs", epochs=15, lr=0.01, augment="none"), progress=False
    )
    assert result.best_metrics["val/acc"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_resume_after_interrupt_matches_an_uninterrupted_run(colours, tmp_path, workers) -> None:
    common = {"augment": "strong", "mixup": 0.2, "epochs": 2, "schedule": "cosine",
              "patience": 5, "workers": workers}  # fmt: skip
    full = train_classifier(config(colours, tmp_path / "r", name="full", **common), progress=False)
    with pytest.raises(TrainingInterruptedError, match="epochs 1-1 are saved") as info:
        train_classifier(
            config(colours, tmp_path / "r", name="cut", **common),
            progress=False,
            callbacks=[interrupt_at_epoch(1)],
        )
    run = tmp_path / "r" / "classify" / "cut"
    assert f"--resume {run}" in str(info.value)
    assert json.loads((run / "last.json").read_text())["epoch"] == 1
    resumed = train_classifier(resume_config(run, {}), resume=run, progress=False)
    expected = load_file(str(full.run_dir / "last.safetensors"))
    actual = load_file(str(resumed.run_dir / "last.safetensors"))
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key], actual[key]), key
    epochs = [row.split(",")[0] for row in (run / "logs" / "metrics.csv").read_text().splitlines()]
    assert "0" in epochs and "1" in epochs  # the merged log keeps both fits


def test_transfer_learning_freezes_the_pretrained_backbone(colours, tmp_path) -> None:
    base = load_model("efficientnet_lite0")
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    result = train_classifier(
        config(colours, tmp_path / "runs", model="efficientnet_lite0", pretrained=True,
               freeze="backbone", epochs=1, arch_options={}, image_size=64, lr=0.01),
        progress=False,
    )  # fmt: skip
    tuned = load_file(str(result.run_dir / "last.safetensors"))
    assert tuned["_fc.weight"].shape == (3, 1280)
    for key, value in before.items():
        if not key.startswith("_fc."):
            assert torch.equal(tuned[key], value), f"{key} changed although frozen"
    record = load_model(result.run_dir / "last").weights
    assert record.preprocessing.input_size == (64, 64)
    assert "efficientnet_lite0.imagenet1k" in record.license


def test_second_stage_unfreezes_the_last_blocks(colours, tmp_path) -> None:
    base = load_model("efficientnet_lite0")
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    result = train_classifier(
        config(colours, tmp_path / "runs", model="efficientnet_lite0", pretrained=True,
               freeze="backbone", unfreeze="last:1", unfreeze_epoch=1, epochs=2,
               arch_options={}, image_size=64, backbone_lr=0.01),
        progress=False,
    )  # fmt: skip
    tuned = load_file(str(result.run_dir / "last.safetensors"))
    assert not torch.equal(tuned["_bn1.weight"], before["_bn1.weight"])  # last block trained
    assert torch.equal(
        tuned["_blocks.0._depthwise_conv.weight"], before["_blocks.0._depthwise_conv.weight"]
    )


def test_explicit_train_and_val_folders(tmp_path) -> None:
    write_colour_folder(tmp_path / "data" / "train", per_class=6)
    write_colour_folder(tmp_path / "data" / "val", per_class=2, seed=5)
    result = train_classifier(
        config(tmp_path / "data", tmp_path / "runs", epochs=1), progress=False
    )
    split = json.loads((result.run_dir / "split.json").read_text())
    assert split["explicit"] is True and len(split["val"]) == 6
    assert all(path.startswith("val/") for path, _ in split["val"])


def test_binary_cross_entropy_for_two_classes(tmp_path) -> None:
    import shutil

    from visiona.models.transfer import find_head

    data = write_colour_folder(tmp_path / "data", per_class=6)
    shutil.rmtree(data / "blue")  # keep green and red
    result = train_classifier(config(data, tmp_path / "runs", loss="bce", epochs=1), progress=False)
    loaded = load_model(result.run_dir / "last")
    assert find_head(loaded.module)[1].out_features == 1
    assert loaded.weights.class_names == ("green", "red")
    [prediction] = visiona_predict(loaded, data / "red" / "0.png")
    assert set(prediction.labels) == {"green", "red"}
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_nan_loss_stops_without_saving(colours, tmp_path) -> None:
    with pytest.raises(NonFiniteLossError, match="loss became nan"):
        train_classifier(
            config(colours, tmp_path / "runs", name="nan", optimizer="sgd", lr=1e12,
                   schedule="none", momentum=0.0, weight_decay=0.0, augment="none"),
            progress=False,
        )  # fmt: skip
    run = tmp_path / "runs" / "classify" / "nan"
    assert not (run / "best.safetensors").exists() and not (run / "last.safetensors").exists()


def test_corrupt_images_are_skipped_and_listed(colours, tmp_path) -> None:
    (colours / "red" / "broken.png").write_bytes(b"\x89PNG not really")
    result = train_classifier(
        config(colours, tmp_path / "runs", epochs=1, max_bad_fraction=0.1), progress=False
    )
    assert [Path(bad.path).name for bad in result.skipped] == ["broken.png"]
    with pytest.raises(VisionaError, match=r"1 of .* images cannot be read"):
        train_classifier(
            config(colours, tmp_path / "runs", epochs=1, max_bad_fraction=0.0), progress=False
        )


def test_bad_datasets_are_clear_errors(tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=4)
    (data / "empty").mkdir()
    with pytest.raises(InputNotFoundError, match=r"class folder.* with no images: empty"):
        train_classifier(config(data, tmp_path / "runs"), progress=False)
    with pytest.raises(InputNotFoundError, match="dataset folder not found"):
        train_classifier(config(tmp_path / "missing", tmp_path / "runs"), progress=False)
    with pytest.raises(UsageError, match="--optimizer must be one of"):
        train_classifier(config(data, tmp_path / "runs", optimizer="lion"), progress=False)


def test_a_class_with_one_image_stays_in_train(tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=5)
    for extra in sorted((data / "red").iterdir())[1:]:
        extra.unlink()
    result = train_classifier(config(data, tmp_path / "runs", epochs=1), progress=False)
    split = json.loads((result.run_dir / "split.json").read_text())
    red = split["classes"].index("red")
    assert [label for _, label in split["train"]].count(red) == 1
    assert red not in [label for _, label in split["val"]]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"])
@pytest.mark.parametrize("schedule", ["none", "step", "exponential", "cosine", "plateau"])
def test_every_optimizer_and_schedule_builds(optimizer: str, schedule: str) -> None:
    from visiona.engine.train.classify import ClassificationModule

    network = load_model("cnn", pretrained=False, num_classes=3, arch_options=TINY_CNN).module
    cfg = TrainConfig(data="x", optimizer=optimizer, schedule=schedule, nesterov=optimizer == "sgd",
                      warmup_epochs=1)  # fmt: skip
    configured = ClassificationModule(network, cfg, 3).configure_optimizers()
    optimizer_object = configured["optimizer"] if isinstance(configured, dict) else configured
    assert type(optimizer_object).__name__.lower() == optimizer
    assert [g["name"] for g in optimizer_object.param_groups] == ["head", "backbone"]
    if schedule != "none":
        assert "lr_scheduler" in configured


def test_lr_finder_writes_a_plot(colours, tmp_path) -> None:
    from visiona.engine.train.lr_find import find_learning_rate

    result = find_learning_rate(
        config(colours, tmp_path / "runs", batch_size=4, augment="none"), num_steps=20
    )
    assert 1e-8 < result.suggestion < 1 and result.plot.is_file()
    assert result.plot.name == "lr_find.png" and result.run_dir.name == "train-lr-find"


def test_checkpoint_json_describes_the_model(colours, tmp_path) -> None:
    result = train_classifier(config(colours, tmp_path / "runs", epochs=1), progress=False)
    summary = json.loads((result.run_dir / "best.json").read_text())
    assert summary["weights"]["class_names"] == ["blue", "green", "red"]
    assert summary["weights"]["preprocessing"]["input_size"] == [16, 16]
    assert summary["config"]["epochs"] == 1 and summary["architecture"] == "cnn"
    assert 0 <= summary["metrics"]["val/acc"] <= 1


def test_early_stopping_ends_a_run_that_stopped_improving(colours, tmp_path) -> None:
    result = train_classifier(
        config(colours, tmp_path / "runs", epochs=20, lr=1e-9, patience=1, monitor="val/loss",
               schedule="none", augment="none"),
        progress=False,
    )  # fmt: skip
    assert result.epochs_run < 20


def test_fine_tuning_a_checkpoint_on_new_classes_gets_a_new_head(colours, tmp_path) -> None:
    import shutil

    from visiona.models.transfer import find_head

    first = train_classifier(config(colours, tmp_path / "runs", epochs=1), progress=False)
    two = tmp_path / "two"
    shutil.copytree(colours, two)
    shutil.rmtree(two / "blue")
    second = train_classifier(
        config(two, tmp_path / "runs", model=str(first.run_dir / "best"), epochs=1,
               arch_options={}),
        progress=False,
    )  # fmt: skip
    tuned = load_model(second.run_dir / "best")
    assert tuned.weights.class_names == ("green", "red")
    assert find_head(tuned.module)[1].out_features == 2
    before = load_file(str(first.run_dir / "best.safetensors"))
    after = load_file(str(second.run_dir / "best.safetensors"))
    assert before["0.weight"].shape == after["0.weight"].shape  # same body, carried over


def test_checkpoint_metrics_belong_to_their_epoch(colours, tmp_path) -> None:
    import csv

    result = train_classifier(config(colours, tmp_path / "runs", epochs=2), progress=False)
    last = json.loads((result.run_dir / "last.json").read_text())
    with open(result.run_dir / "logs" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    epoch_two = [r for r in rows if r["epoch"] == "1" and r.get("train/loss")]
    assert last["epoch"] == 2
    assert last["metrics"]["train/loss"] == pytest.approx(float(epoch_two[0]["train/loss"]))


def test_split_is_reused_from_another_working_directory(colours, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(colours.parent)
    first = train_classifier(
        config(Path(colours.name), tmp_path / "runs", epochs=1), progress=False
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    second = train_classifier(
        config(Path("..") / colours.name, tmp_path / "runs", epochs=1), progress=False
    )
    assert not second.skipped
    assert (
        json.loads((first.run_dir / "split.json").read_text())["train"]
        == json.loads((second.run_dir / "split.json").read_text())["train"]
    )


def test_resume_refuses_to_change_the_recipe(colours, tmp_path) -> None:
    result = train_classifier(config(colours, tmp_path / "runs", epochs=1), progress=False)
    with pytest.raises(UsageError, match="cannot change: lr"):
        resume_config(result.run_dir, {"lr": 0.1, "epochs": 3})
    assert resume_config(result.run_dir, {"epochs": 3}).epochs == 3


def test_yaml_numbers_are_converted_and_bad_values_refused(tmp_path) -> None:
    from visiona.engine.train.config import load_yaml_config

    path = tmp_path / "c.yaml"
    path.write_text("data: x\nlr: 1e-3\nepochs: '4'\nnesterov: 'yes'\n")
    cfg = TrainConfig.from_dict(load_yaml_config(path)).validate()
    assert cfg.lr == 0.001 and cfg.epochs == 4 and cfg.nesterov is True
    with pytest.raises(UsageError, match="option lr: 'fast' is not a valid float"):
        TrainConfig.from_dict({"data": "x", "lr": "fast"})
    with pytest.raises(UsageError, match="--step-size must be at least 1"):
        TrainConfig(data="x", step_size=0).validate()


def test_no_hflip_removes_the_flip_and_cnn_blocks_include_dense_layers() -> None:
    from torchvision.transforms import v2

    from visiona.data.transforms import augmentation_steps
    from visiona.models.transfer import backbone_blocks, select_blocks
    from visiona.weights.record import Preprocessing

    for preset in ("light", "strong"):
        with_flip = augmentation_steps(preset, Preprocessing(), hflip=True)
        without = augmentation_steps(preset, Preprocessing(), hflip=False)
        assert any(isinstance(t, v2.RandomHorizontalFlip) for t in with_flip)
        assert not any(isinstance(t, v2.RandomHorizontalFlip) for t in without)
    network = load_model("cnn", pretrained=False, num_classes=3).module
    names = [name for name, _ in backbone_blocks(network)]
    assert "13" in names  # the 2048 -> 128 dense layer
    assert [name for name, _ in select_blocks(network, "last:1")] == ["13"]
