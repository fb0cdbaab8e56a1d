"""Grad-CAM lands on what a network learnt to look at; layer summary and conv arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests_support import require_module
from visiona.errors import UnknownNameError, UsageError
from visiona.io.images import load_image
from visiona.models.load import LoadedModel
from visiona.weights.record import Preprocessing, Weights

require_module("pytorch_grad_cam", 'pip install "visiona[explain]"')

SIDE = 32
SQUARE = 10


def square_images(
    count: int, seed: int, label: int | None = None, at: tuple[int, int] | None = None
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Grey noise with one square: red (class 1) or green (class 0), at a random place or at
    ``at`` (x, y); all of class ``label`` when given.

    Returns ``(images (N, 3, S, S) float in [0, 1], labels (N,), boxes (N, 4) xyxy)``.
    """
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.35, 0.65, (count, SIDE, SIDE, 3)).astype(np.float32)
    labels = rng.integers(0, 2, count) if label is None else np.full(count, label)
    boxes = np.zeros((count, 4), np.int64)
    for i in range(count):
        x, y = rng.integers(0, SIDE - SQUARE, 2) if at is None else at
        images[i, y : y + SQUARE, x : x + SQUARE] = (
            (0.95, 0.05, 0.05) if labels[i] else (0.05, 0.95, 0.05)
        )
        boxes[i] = (x, y, x + SQUARE, y + SQUARE)
    return torch.from_numpy(images).permute(0, 3, 1, 2), torch.from_numpy(labels), boxes


def train(
    network: nn.Module, steps: int, lr: float, at: tuple[int, int] | None = None
) -> nn.Module:
    """A short supervised fit on fresh square images (deterministic; one thread: tiny ops)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        optimizer = torch.optim.Adam(network.parameters(), lr=lr)
        network.train()
        for step in range(steps):
            images, labels, _ = square_images(32, seed=step, at=at)
            loss = nn.functional.cross_entropy(network((images - 0.5) / 0.25), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return network.eval()


def as_loaded(network: nn.Module, name: str) -> LoadedModel:
    # Stretch 64 px photos to the 32 px input: the heat map must come back at 64 px.
    preprocessing = Preprocessing(
        input_size=(SIDE, SIDE), resize="stretch", resize_size=None,
        mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
    )  # fmt: skip
    weights = Weights(
        model=name, tag="test", preprocessing=preprocessing, class_names=("green", "red")
    )
    return LoadedModel(network, name, weights, "random", name, "classify")


def upscaled(image: torch.Tensor) -> np.ndarray:
    """A ``(3, S, S)`` float image as a 2× larger ``(2S, 2S, 3)`` uint8 photo."""
    array = (image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return array.repeat(2, axis=0).repeat(2, axis=1)


def assert_peaks_in_squares(
    model: LoadedModel, method: str = "gradcam", margin: int = 2, at: tuple[int, int] | None = None
) -> None:
    from visiona.engine.explain.cam import CamExplainer

    explainer = CamExplainer(model, method=method)
    # Red squares: "red" is evidence the model can only find in the square (a network may call
    # an image "green" just because nothing is red, and then look at the background).
    images, labels, boxes = square_images(8, seed=10_000, label=1, at=at)
    hits = 0
    for image, label, box in zip(images, labels, boxes, strict=True):
        explanation = explainer.explain(load_image(upscaled(image)), target=int(label))
        assert explanation.heatmap.shape == (2 * SIDE, 2 * SIDE)
        x, y = explanation.peak
        x0, y0, x1, y1 = (2 * box).tolist()
        hits += x0 - margin <= x < x1 + margin and y0 - margin <= y < y1 + margin
    assert hits >= 7, f"the heat map peaked inside the square on {hits} of 8 images"


def test_gradcam_peak_falls_inside_the_square_a_cnn_learnt() -> None:
    network = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(32, 2),
    )  # fmt: skip
    model = as_loaded(train(network, steps=60, lr=3e-3), "square_cnn")
    assert_peaks_in_squares(model, "gradcam")
    assert_peaks_in_squares(model, "layercam")


def test_vit_tokens_are_reshaped_back_into_their_grid() -> None:
    from visiona.engine.explain.layers import token_reshape

    # Token k of a 3×4 grid (after one class token) carries the value k in every channel.
    tokens = torch.arange(-1, 12, dtype=torch.float32).view(1, 13, 1).repeat(1, 1, 5)
    grid = token_reshape((3, 4), prefix_tokens=1)(tokens)
    assert grid.shape == (1, 5, 3, 4)
    assert grid[0, 2].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


@pytest.mark.parametrize("arch", ["vit", "swin"])
def test_cam_runs_on_timm_transformers_with_their_layer_and_reshape(arch: str) -> None:
    """Grad-CAM on a tiny ViT and Swin: the layer is chosen per family, the token output is
    reshaped into a map, and the heat map comes back at the photo's size. (A Grad-CAM peak test
    on an in-test-trained 1-block ViT was tried: its maps do not localise reliably, so the
    localisation check stays on the CNN above.)"""
    import timm

    from visiona.engine.explain.cam import CamExplainer

    if arch == "vit":
        network = timm.create_model(
            "vit_tiny_patch16_224", pretrained=False, img_size=SIDE, patch_size=8,
            embed_dim=32, depth=2, num_heads=2, num_classes=2,
        )  # fmt: skip
        layer = "blocks.1.norm1"
    else:
        network = timm.create_model(
            "swin_tiny_patch4_window7_224", pretrained=False, img_size=SIDE, patch_size=4,
            window_size=4, embed_dim=24, depths=(1, 1), num_heads=(1, 2), num_classes=2,
        )  # fmt: skip
        layer = "layers.1.blocks.0.norm2"
    explainer = CamExplainer(as_loaded(network.eval(), arch))
    assert explainer.layer.name == layer
    explanation = explainer.explain(load_image(np.full((48, 80, 3), 90, np.uint8)), target="red")
    assert explanation.heatmap.shape == (48, 80) and explanation.target == 1
    assert explanation.layer == layer


def test_centre_crop_maps_back_to_the_crop_region() -> None:
    from visiona.engine.explain.cam import input_to_image

    # 300×200 photo: shorter side 200 → 100, so 150×100, centre crop 80×80 at x 35..115, y 10..90.
    preprocessing = Preprocessing(input_size=(80, 80), resize_size=100)
    heat = input_to_image(np.ones((80, 80), np.float32), preprocessing, (300, 200))
    assert heat.shape == (200, 300)
    columns = np.flatnonzero(heat.max(axis=0) > 0)
    rows = np.flatnonzero(heat.max(axis=1) > 0)
    assert (columns[0], columns[-1] + 1) == (70, 230)
    assert (rows[0], rows[-1] + 1) == (20, 180)


def test_unknown_layer_target_and_method_are_one_line_errors() -> None:
    from visiona.engine.explain.cam import CamExplainer
    from visiona.models.load import load_model

    model = load_model("resnet18", pretrained=False)
    with pytest.raises(
        UnknownNameError, match=r"unknown layer 'layer5'; did you mean 'layer[1-4]'"
    ):
        CamExplainer(model, layer="layer5")
    with pytest.raises(
        UnknownNameError, match="unknown CAM method 'gradcan'; did you mean 'gradcam'"
    ):
        CamExplainer(model, method="gradcan")
    explainer = CamExplainer(model)
    image = load_image(np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(UsageError, match=r"--target 1000 is outside the model's 1000 classes"):
        explainer.explain(image, target=1000)


def test_resnet18_summary_counts_parameters_shapes_and_receptive_field() -> None:
    import torchvision

    from visiona.engine.explain.summary import summarize

    summary = summarize(torchvision.models.resnet18(), (1, 3, 224, 224), depth=1)
    assert summary.total_params == 11_689_512
    assert summary.output_shape == (1, 1000)
    rows = {row.name: row for row in summary.rows}
    expected = {"layer1": 56, "layer2": 28, "layer3": 14, "layer4": 7}
    for stage, side in expected.items():
        assert rows[stage].output_shape[-2:] == (side, side)
    assert rows["conv1"].arithmetic.formula() == "⌊(224 + 2·3 − 1·(7−1) − 1)/2⌋ + 1 = 112"
    # The textbook values: 435 px and a stride of 32 at the end of ResNet-18's last stage.
    assert rows["layer4"].receptive_field == (435, 435) and rows["layer4"].jump == (32, 32)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"),
    [(3, 1, 1, 1), (3, 2, 1, 1), (5, 2, 0, 1), (3, 1, 2, 2), (7, 3, 3, 1), (2, 2, 0, 1)],
)
def test_conv_arithmetic_matches_the_real_output(
    kernel: int, stride: int, padding: int, dilation: int
) -> None:
    from visiona.engine.explain.summary import conv_output_size, summarize

    network = nn.Sequential(
        nn.Conv2d(3, 4, kernel, stride, padding, dilation), nn.MaxPool2d(3, 2, 1)
    )
    summary = summarize(network, (1, 3, 37, 41), depth=1)
    conv, pool = summary.rows[0], summary.rows[1]
    real = network[0](torch.zeros(1, 3, 37, 41)).shape[-2:]
    assert conv.output_shape[-2:] == tuple(real)
    assert conv.arithmetic.output_size == tuple(real) and conv.arithmetic.checked
    assert conv_output_size(37, kernel, stride, padding, dilation) == real[0]
    assert pool.arithmetic.checked and pool.arithmetic.input_size == tuple(real)
    assert conv.receptive_field == (dilation * (kernel - 1) + 1,) * 2


def test_frozen_parameters_are_reported_apart() -> None:
    from visiona.engine.explain.summary import summarize

    network = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    network(torch.zeros(1, 3, 8, 8))
    for parameter in network[0].parameters():
        parameter.requires_grad_(False)
    summary = summarize(network, (1, 3, 8, 8), depth=1)
    assert summary.frozen_params == 4 * 3 * 9 + 4
    assert summary.rows[0].trainable == 0
