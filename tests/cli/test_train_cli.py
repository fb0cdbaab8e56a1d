"""`visiona train classify` as a user runs it: options, Ctrl-C, --resume, --lr-find, errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests_support import subprocess_env, write_colour_folder


def test_train_then_predict_and_evaluate_the_checkpoint(cli, tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data")
    runs = tmp_path / "runs"
    result = cli("train", "classify", "--data", data, "--epochs", "2", "--project", runs,
                 "--arch-opt", "blocks=2", "--arch-opt", "width=4", "--arch-opt", "image_size=16",
                 "--name", "colours", "--batch-size", "8", "--json")  # fmt: skip
    assert result.code == 0, result.err
    run = runs / "classify" / "colours"
    assert f"run folder: {run}" in result.err and "curves.png" in result.err
    summary = json.loads(result.out)
    assert summary["run_dir"] == str(run) and summary["task"] == "classify"
    assert Path(summary["best_checkpoint"]).is_file() and "val/acc" in summary["best_metrics"]
    predicted = cli("predict", "classify", data / "red" / "0.png", "-m", run / "best", "--json")
    assert predicted.code == 0
    assert {e["label"] for e in json.loads(predicted.out)[0]["top"]} == {"blue", "green", "red"}
    evaluated = cli("evaluate", "classify", "-m", run / "best", "-d", data, "--json")
    assert evaluated.code == 0 and json.loads(evaluated.out)["num_images"] == 30


def test_yaml_config_with_cli_override(cli, tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=4)
    config = tmp_path / "train.yaml"
    config.write_text(
        f"data: {data}\nepochs: 3\nlr: 0.005\noptimizer: sgd\nnesterov: true\n"
        "arch_options: {blocks: 1, width: 4, image_size: 16}\n"
    )
    result = cli("train", "classify", "--config", config, "--epochs", "1",
                 "--project", tmp_path / "runs")  # fmt: skip
    assert result.code == 0, result.err
    saved = (tmp_path / "runs" / "classify" / "train" / "config.yaml").read_text()
    assert "epochs: 1" in saved and "optimizer: sgd" in saved and "nesterov: true" in saved


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "lion"], "--optimizer must be one of"),
        (["--arch-opt", "blocks"], "use KEY=VALUE"),
        (["--arch-opt", "depth=3"], "unknown cnn option 'depth'"),
        (["--model", "resnet19"], "did you mean"),
        (["--loss", "bce"], "--loss bce is for 2 classes"),
        (["--unfreeze", "nothing_here", "--freeze", "backbone"], "matches no block"),
    ],
)
def test_bad_options_are_one_line_errors(cli, tmp_path, args, message) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=3)
    result = cli("train", "classify", "--data", data, "--project", tmp_path / "runs", *args)
    assert result.code == 2, result.err
    assert result.err.startswith("error: ") and message in result.err
    assert "Traceback" not in result.err


def test_missing_data_and_resume_folder(cli, tmp_path) -> None:
    assert cli("train", "classify", "--project", tmp_path).code == 2
    missing = cli("train", "classify", "--data", tmp_path / "none", "--project", tmp_path)
    assert missing.code == 2 and "dataset folder not found" in missing.err
    no_state = cli("train", "classify", "--resume", tmp_path)
    assert no_state.code == 2 and "no resumable state" in no_state.err


def test_lr_find_reports_a_suggestion_and_plot(cli, tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data")
    result = cli("train", "classify", "--data", data, "--lr-find", "--project", tmp_path / "runs",
                 "--batch-size", "4", "--arch-opt", "image_size=16")  # fmt: skip
    assert result.code == 0, result.err
    assert "suggested learning rate:" in result.err
    assert (tmp_path / "runs" / "classify" / "train-lr-find" / "lr_find.png").is_file()


@pytest.mark.slow
def test_ctrl_c_leaves_a_resumable_run(tmp_path) -> None:
    data = write_colour_folder(tmp_path / "data", per_class=40, size=32)
    run = tmp_path / "runs" / "classify" / "long"
    command = [sys.executable, "-m", "visiona", "train", "classify", "--data", str(data),
               "--epochs", "200", "--project", str(tmp_path / "runs"), "--name", "long",
               "--batch-size", "8"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    )
    deadline = time.monotonic() + 120
    while not (run / "last.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (run / "last.json").exists(), "no epoch finished in time"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "training interrupted" in err and f"--resume {run}" in err
    assert "Traceback" not in err
    saved_epoch = json.loads((run / "last.json").read_text())["epoch"]
    assert not list(run.rglob("*.part"))  # atomic writes: no half files left
    resumed = subprocess.run(
        [sys.executable, "-m", "visiona", "train", "classify", "--resume", str(run),
         "--epochs", str(saved_epoch + 1)],
        capture_output=True, text=True, timeout=300, env=subprocess_env(),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "last.json").read_text())["epoch"] == saved_epoch + 1
    assert Path(run / "best.safetensors").is_file()
