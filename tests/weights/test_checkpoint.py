"""Checkpoints carry their Weights record; the record round-trips through JSON."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from visiona.errors import WeightsError
from visiona.models.load import load_model
from visiona.models.tiny import TINY_PREPROCESSING, build_tiny_classifier
from visiona.weights.checkpoint import read_checkpoint_info, save_checkpoint
from visiona.weights.record import Preprocessing, Weights


def test_weights_record_json_round_trip() -> None:
    record = Weights(
        model="m", tag="t", urls=("https://x/y.pth",), sha256="abcdef12", file_format="pth",
        preprocessing=Preprocessing(input_size=(128, 160), resize="stretch", resize_size=None),
        class_names=("cat", "dog"), metrics={"acc": 0.9}, license="MIT",
    )  # fmt: skip
    assert Weights.from_json(record.to_json()) == record


def test_record_validation() -> None:
    with pytest.raises(ValueError, match="sha256"):
        Weights(model="m", tag="t", sha256="XYZ")
    with pytest.raises(ValueError, match="resize_size"):
        Preprocessing(input_size=(224, 224), resize_size=100)


def test_checkpoint_round_trip_predicts_identically(tmp_path) -> None:
    torch.manual_seed(0)
    module = build_tiny_classifier(3, None).eval()
    record = Weights(
        model="test_classifier", tag="run1", preprocessing=TINY_PREPROCESSING,
        class_names=("red", "green", "blue"),
    )  # fmt: skip
    path = save_checkpoint(tmp_path / "best", module, "test_classifier", record, {"epoch": 3})
    assert path.name == "best.safetensors"
    info = read_checkpoint_info(path)
    assert info.weights == record and info.extra == {"epoch": 3}
    loaded = load_model(tmp_path / "best")
    assert loaded.origin == "checkpoint" and loaded.weights.class_names == ("red", "green", "blue")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), module(x))


def test_plain_safetensors_is_not_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(1)}, str(path))
    with pytest.raises(WeightsError, match="not a visiona checkpoint"):
        load_model(path)
