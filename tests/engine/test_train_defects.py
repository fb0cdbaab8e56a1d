"""Training on hostile input: an exploding loss is reported, a damaged last.ckpt is refused."""

from __future__ import annotations

import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

from tests_support import write_colour_folder
from visiona.cli.app import main
from visiona.engine.train.callbacks import DamagedCheckpointError, check_resumable
from visiona.engine.train.config import TrainConfig
from visiona.engine.train.fit import train_classifier

TINY_CNN = {"blocks": 2, "width": 4, "dense": 8, "image_size": 16}


class _Evil:
    """Unpickling this would run code; weights_only=True must refuse it."""

    def __reduce__(self):
        return (Path.touch, (Path(__file__).with_name("PWNED"),))


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory: pytest.TempPathFactory):
    """One epoch with Adam at lr 1000: the loss explodes (~1e10) but stays finite."""
    root = tmp_path_factory.mktemp("diverge")
    data = write_colour_folder(root / "colours")
    config = TrainConfig(
        data=str(data), project=str(root / "runs"), arch_options=dict(TINY_CNN), batch_size=8,
        epochs=1, seed=1, augment="none", optimizer="adam", lr=1000.0, deterministic=True,
    )  # fmt: skip
    with pytest.warns(RuntimeWarning, match="the training loss diverged"):
        result = train_classifier(config, progress=False)
    return result


def test_a_diverging_loss_is_reported(diverged_run) -> None:
    assert len(diverged_run.warnings) == 1
    message = diverged_run.warnings[0]
    assert "the training loss diverged" in message and "at epoch 1" in message
    assert "lower --lr" in message
    assert (diverged_run.run_dir / "best.safetensors").is_file()  # still saved, but flagged


def test_the_summary_repeats_the_warning(diverged_run, capsys) -> None:
    from visiona.cli.output import stderr_console
    from visiona.cli.train import _report

    _report(diverged_run, stderr_console())
    err = capsys.readouterr().err
    assert "warning: the training loss diverged" in err


def _damage(ckpt: Path, kind: str) -> None:
    good = ckpt.read_bytes()
    if kind == "empty":
        ckpt.write_bytes(b"")
    elif kind == "truncated":
        ckpt.write_bytes(good[: len(good) // 2])
    elif kind == "text":
        ckpt.write_text("this is not a checkpoint\n")
    elif kind == "evil pickle":
        ckpt.write_bytes(pickle.dumps({"state_dict": _Evil()}))
    elif kind == "foreign zip":
        with zipfile.ZipFile(ckpt, "w") as archive:
            archive.writestr("hello.txt", "hi")


@pytest.mark.parametrize("kind", ["empty", "truncated", "text", "evil pickle", "foreign zip"])
def test_resume_from_a_damaged_checkpoint_is_one_clear_error(
    diverged_run, tmp_path: Path, capsys, kind: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(diverged_run.run_dir, run)
    ckpt = run / "checkpoints" / "last.ckpt"
    check_resumable(ckpt, "classify")  # the intact file is accepted
    _damage(ckpt, kind)
    code, err = _cli(capsys, "train", "classify", "--resume", run)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"error: cannot resume from {ckpt}: "), err
    assert f"--model {run / 'last.safetensors'}" in err and "without --resume" in err
    assert "Traceback" not in err and "Aborted" not in err
    assert len(lines) <= 4
    assert not Path(__file__).with_name("PWNED").exists()
    with pytest.raises(DamagedCheckpointError):
        check_resumable(ckpt, "classify")
