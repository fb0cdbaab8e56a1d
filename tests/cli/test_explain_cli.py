"""`visiona explain cam|features|kernels`, `visiona summary` and `visiona report` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests_support import require_browser, require_module, write_colour_folder

require_module("pytorch_grad_cam", 'pip install "visiona[explain]"')


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny colour classifier trained by the CLI, with its report."""
    from visiona.cli.app import main

    root = tmp_path_factory.mktemp("explain_run")
    data = write_colour_folder(root / "data", per_class=6, size=24)
    try:
        main([
            "train", "classify", "-d", str(data), "--epochs", "2", "--project", str(root / "runs"),
            "--arch-opt", "blocks=2", "--arch-opt", "width=4", "--arch-opt", "image_size=24",
            "--name", "colours", "-b", "8",
        ])  # fmt: skip
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    return root / "runs" / "classify" / "colours"


def test_cam_writes_overlays_and_json_for_a_packaged_model(cli, photos, tmp_path) -> None:
    out = tmp_path / "cams"
    result = cli(
        "explain", "cam", photos["chelsea"], "-m", "efficientnet_lite0", "--save", out, "--json"
    )
    assert result.code == 0, result.err
    [explanation] = json.loads(result.out)
    assert explanation["target_name"] == "Egyptian cat" and explanation["layer"]
    overlay = Image.open(next(out.glob("chelsea*gradcam*.png")))
    assert overlay.size == Image.open(photos["chelsea"]).size
    # The cat fills the photo (451×300); the map peaks on it, not in the corners.
    x, y = explanation["peak"]
    assert 60 < x < 400 and 20 < y < 280


def test_cam_errors_are_one_line(cli, photos, tmp_path) -> None:
    unknown = cli("explain", "cam", photos["chelsea"], "-m", "resnet18", "--random-init",
                  "--layer", "layer9", "--save", tmp_path / "a")  # fmt: skip
    assert unknown.code == 2 and "unknown layer 'layer9'; did you mean" in unknown.err
    assert "Traceback" not in unknown.err
    target = cli("explain", "cam", photos["chelsea"], "-m", "resnet18", "--random-init",
                 "--target", "unicorn", "--save", tmp_path / "b")  # fmt: skip
    assert target.code == 2 and "unknown class 'unicorn'" in target.err
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    partial = cli("explain", "cam", photos["chelsea"], bad, "-m", "resnet18", "--random-init",
                  "--save", tmp_path / "c")  # fmt: skip
    assert partial.code == 1 and "broken.jpg" in partial.err
    assert len(list((tmp_path / "c").glob("*.png"))) == 1


def test_cam_on_an_onnx_file_says_it_needs_pytorch(cli, photos, tmp_path) -> None:
    require_module("onnxruntime")
    exported = tmp_path / "tiny.onnx"
    made = cli("export", "-m", "resnet18", "--random-init", "-o", exported, "--no-verify")
    assert made.code == 0, made.err
    result = cli("explain", "cam", photos["chelsea"], "-m", exported, "--save", tmp_path / "o")
    assert result.code == 2
    assert "CAM needs a PyTorch model" in result.err and "checkpoint" in result.err


def test_features_lists_layers_and_draws_a_grid(cli, photos, tmp_path) -> None:
    listed = cli("explain", "features", "-m", "resnet18", "--random-init", "--layers", "--json")
    assert listed.code == 0
    layers = {entry["name"]: entry["output_shape"] for entry in json.loads(listed.out)}
    assert layers["layer1"] == [1, 64, 56, 56] and "layer4.1.conv2" in layers
    grid_path = tmp_path / "layer1.png"
    result = cli("explain", "features", photos["coffee"], "-m", "resnet18", "--random-init",
                 "--layer", "layer1", "--limit", "16", "-o", grid_path, "--json")  # fmt: skip
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["output_shape"] == [1, 64, 56, 56] and report["channels_drawn"] == 16
    grid = np.asarray(Image.open(grid_path))
    assert grid.shape == (4 * 56 + 3 * 2, 4 * 56 + 3 * 2)  # 4×4 tiles of 56 px, 2 px gaps
    assert grid[56:58].min() == 255  # the white gap between the first two tile rows
    bad = cli("explain", "features", photos["coffee"], "-m", "resnet18", "--random-init",
              "--layer", "fc")  # fmt: skip
    assert bad.code == 2 and "does not output a (N, C, h, w) feature map" in bad.err


def test_kernels_draw_the_first_convolution_in_colour(cli, tmp_path) -> None:
    path = tmp_path / "k.png"
    result = cli("explain", "kernels", "-m", "resnet18", "--random-init", "-o", path, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "layer": "conv1",
        "weight_shape": [64, 3, 7, 7],
        "path": str(path),
    }
    picture = np.asarray(Image.open(path))
    assert picture.ndim == 3 and picture.shape[2] == 3  # RGB tiles for a 3-channel input
    deeper = cli("explain", "kernels", "-m", "resnet18", "--random-init", "--layer", "layer1.0.conv1",
                 "-o", tmp_path / "d.png")  # fmt: skip
    assert deeper.code == 0 and np.asarray(Image.open(tmp_path / "d.png")).ndim == 2
    wrong = cli("explain", "kernels", "-m", "resnet18", "--random-init", "--layer", "bn1")
    assert wrong.code == 2 and "is a BatchNorm2d, not a convolution" in wrong.err


def test_summary_json_of_resnet18(cli) -> None:
    result = cli("summary", "-m", "resnet18", "--image-size", "224", "--depth", "1", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["total_params"] == 11_689_512 and summary["output_shape"] == [1, 1000]
    conv1 = next(layer for layer in summary["layers"] if layer["name"] == "conv1")
    assert conv1["arithmetic"]["checked"] and conv1["output_shape"] == [1, 64, 112, 112]
    table = cli("summary", "resnet18", "--image-size", "64", "--depth", "1")
    assert table.code == 0 and "11,689,512" in table.out


def test_training_writes_a_report_with_every_artefact(trained_run: Path) -> None:
    report = trained_run / "report.html"
    assert report.is_file()
    text = report.read_text()
    for picture in sorted(trained_run.rglob("*.png")):
        if "logs" not in picture.parts:
            assert str(picture.relative_to(trained_run)) in text
    assert "Configuration" in text and "Hardest validation images, with Grad-CAM" in text
    assert "http://" not in text and "https://" not in text  # opens offline, no CDN


def test_report_command_and_a_folder_without_a_run(cli, trained_run: Path, tmp_path) -> None:
    result = cli("report", trained_run, "--no-cam", "--json")
    assert result.code == 0, result.err
    written = json.loads(result.out)
    assert "Data" in written["sections"] and "Grad-CAM" not in " ".join(written["sections"])
    empty = cli("report", tmp_path)
    assert empty.code == 2 and "holds no training run" in empty.err


def test_report_renders_in_chromium_with_every_image(trained_run: Path) -> None:
    sync_api = require_module("playwright.sync_api")
    chromium = require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((trained_run / "report.html").resolve().as_uri())
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth])"
        )
        browser.close()
    assert errors == []
    assert len(images) >= 4 and all(done and width > 0 for done, width in images)
