"""Sliding-window inference: windows cover the image, blending leaves no seams."""

from __future__ import annotations

import itertools

import torch

from visiona.ops.tiling import blend_weights, sliding_window, window_starts


def test_window_starts_cover_the_length() -> None:
    assert window_starts(100, 128, 16) == [0]
    starts = window_starts(1000, 256, 64)
    assert starts[0] == 0 and starts[-1] == 1000 - 256
    assert all(b - a <= 256 - 64 for a, b in itertools.pairwise(starts))
    assert blend_weights(8, 8, 4).min() > 0


def test_tiled_equals_whole_for_a_local_network() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3, padding=1)
    ).eval()
    image = torch.randn(3, 150, 230)
    with torch.inference_mode():
        whole = sliding_window(image, net, tile=0)
        tiled = sliding_window(image, net, tile=64, overlap=16, batch_size=3)
    assert tiled.shape == whole.shape == (3, 150, 230)
    # The network sees 2 pixels around each one: away from window borders both agree exactly.
    agreement = (tiled.argmax(0) == whole.argmax(0)).float().mean()
    assert agreement > 0.99
    assert torch.allclose(tiled.sum(0), torch.ones(150, 230), atol=1e-5)


def test_uint8_input_and_tiny_image() -> None:
    calls = []

    def run(batch: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(batch.shape))
        assert batch.dtype == torch.uint8
        return torch.zeros(batch.shape[0], 2, *batch.shape[-2:])

    out = sliding_window(torch.zeros(3, 1, 1, dtype=torch.uint8), run, tile=64)
    assert out.shape == (2, 1, 1) and calls == [(1, 3, 32, 32)]
