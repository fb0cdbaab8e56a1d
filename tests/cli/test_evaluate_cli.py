"""`visiona evaluate classify`: default output folders, tables, JSON, subsets and user errors.

The model is the tiny ``test_classifier`` wired by hand to predict red/green/blue by mean colour;
one orange image filed under ``green`` is the single, known mistake (accuracy 12/13).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from colour_model import CLASSES, colour_checkpoint, make_colours, write_image
from tests_support import subprocess_env
from visiona.data.folder import scan_folder, stratified_split


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "classify" / "colours"
    colour_checkpoint(run / "best")
    return run


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    return make_colours(tmp_path / "colours")


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_run_checkpoint_report_goes_into_the_run_folder(cli, run_dir, colours) -> None:
    result = cli("evaluate", "classify", "--model", run_dir / "best.safetensors", "--data", colours)
    assert result.code == 0, result.err
    out = run_dir / "eval-colours"
    lines = result.out.splitlines()
    assert lines[0] == "accuracy 92.31%, macro F1 0.926 on 13 images"
    table = {line.split()[1]: line.split()[2:] for line in lines if line.startswith("│")}
    assert table["red"] == ["│", "0.800", "│", "1.000", "│", "0.889", "│", "4", "│"]
    assert table["green"][:4] == ["│", "1.000", "│", "0.800"]
    assert "  green → red: 1" in lines
    for name in ("metrics.json", "confusion_matrix.png", "highest_loss.png"):
        assert f"  {out / name}" in result.err.splitlines()
    assert png_size(out / "confusion_matrix.png")[0] > 300
    assert png_size(out / "highest_loss.png")[0] > 300
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(12 / 13)
    assert Path(metrics["highest_loss"][0]["path"]).name == "zz_wrong.png"


def test_json_top_k_tta_and_default_folder_for_other_checkpoints(
    cli, tmp_path, colours, monkeypatch
) -> None:
    checkpoint = colour_checkpoint(tmp_path / "models" / "colours.safetensors")
    monkeypatch.chdir(tmp_path)
    result = cli(
        "evaluate", "classify", "-m", checkpoint, "-d", colours, "--json",
        "--top-k", "1,2", "--top-k", "5", "--tta", "--batch-size", "4",
    )  # fmt: skip
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["top_k"] == {"1": pytest.approx(12 / 13), "2": pytest.approx(1.0)}
    assert report["tta"] is True and report["num_images"] == 13
    assert report["confusion_matrix"] == [[4, 0, 0], [1, 4, 0], [0, 0, 4]]
    assert report["most_confused"] == [{"true": "green", "predicted": "red", "count": 1}]
    out = Path("runs") / "evaluate" / "colours-colours"
    assert report["files"]["metrics"] == str(out / "metrics.json")
    assert (tmp_path / out / "highest_loss.png").is_file()


def test_unknown_class_folder_exits_2(cli, run_dir, colours) -> None:
    write_image(colours / "purple" / "p.png", (200, 0, 200), seed=1)
    result = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours)
    assert result.code == 2
    assert result.err.startswith("error: ") and "does not know: purple" in result.err
    assert "Traceback" not in result.err and not (run_dir / "eval-colours").exists()


def test_unreadable_images_skipped_or_abort(cli, run_dir, colours) -> None:
    broken = colours / "blue" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours)
    assert result.code == 1 and "1 of 14 images cannot be read" in result.err
    result = cli(
        "evaluate", "classify", "-m", run_dir / "best", "-d", colours,
        "--max-bad-fraction", "0.1", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["skipped"][0]["path"] == str(broken)
    assert any(line.startswith(f"skipped {broken}: ") for line in result.err.splitlines())


def test_split_file_subset(cli, run_dir, colours) -> None:
    splits = stratified_split(scan_folder(colours, classes=CLASSES), val_fraction=0.5, seed=0)
    split_file = run_dir / "split.json"
    split_file.write_text(splits.to_json())
    # Whole folder next to a run that has a split: a note about training images.
    whole = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours, "--json")
    assert whole.code == 0 and "may include this run's training images" in whole.err
    # A run trained on another folder (e.g. digits/train, evaluated on digits/test): no note.
    (run_dir / "config.yaml").write_text(f"data: {run_dir.parent / 'elsewhere'}\n")
    other = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours, "--json")
    assert other.code == 0 and "training images" not in other.err
    (run_dir / "config.yaml").write_text(f"data: {colours}\n")
    same = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours, "--json")
    assert "may include this run's training images" in same.err
    result = cli(
        "evaluate", "classify", "-m", run_dir / "best", "-d", colours,
        "--subset", "val", "--split", split_file, "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["num_images"] == len(splits.val) < 13
    assert report["files"]["metrics"] == str(run_dir / "eval-colours-val" / "metrics.json")
    assert "training images" not in result.err

    reordered = replace(splits, classes=("green", "red", "blue"))
    (run_dir / "other.json").write_text(reordered.to_json())
    mismatch = cli(
        "evaluate", "classify", "-m", run_dir / "best", "-d", colours,
        "--subset", "val", "--split", run_dir / "other.json",
    )  # fmt: skip
    assert mismatch.code == 2 and "checkpoint classes don't match the data" in mismatch.err


def test_explicit_split_folders(cli, run_dir, tmp_path) -> None:
    data = tmp_path / "splits"
    make_colours(data / "train", per_class=3, mislabelled=False)
    make_colours(data / "val", per_class=1)
    auto = cli("evaluate", "classify", "-m", run_dir / "best", "-d", data, "--json")
    assert auto.code == 0 and json.loads(auto.out)["num_images"] == 4  # val/
    train = cli("evaluate", "classify", "-m", run_dir / "best", "-d", data, "--json",
                "--subset", "train")  # fmt: skip
    assert json.loads(train.out)["num_images"] == 9 and json.loads(train.out)["accuracy"] == 1.0
    missing = cli("evaluate", "classify", "-m", run_dir / "best", "-d", data, "--subset", "test")
    assert missing.code == 2 and "no test/ folder" in missing.err


def test_usage_errors(cli, run_dir, colours, tmp_path) -> None:
    inside = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours,
                 "-o", colours / "eval")  # fmt: skip
    assert inside.code == 2 and "inside the dataset" in inside.err
    subset = cli("evaluate", "classify", "-m", run_dir / "best", "-d", colours, "--subset", "x")
    assert subset.code == 2 and "unknown subset 'x'" in subset.err
    no_data = cli("evaluate", "classify", "-m", run_dir / "best", "-d", tmp_path / "nothing")
    assert no_data.code == 2 and "dataset folder not found" in no_data.err
    no_model = cli("evaluate", "classify", "-m", tmp_path / "nope.safetensors", "-d", colours)
    assert no_model.code == 2 and "model file not found" in no_model.err


def test_help_lists_options_without_importing_torch() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from visiona.cli.evaluate import app\n"
        "result = CliRunner().invoke(app, ['classify', '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert '--subset' in result.output and '--top-k' in result.output\n"
        "print(sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
