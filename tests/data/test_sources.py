"""Tests for visiona.data.sources.expand_inputs: files, folders and glob patterns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from visiona.data.sources import expand_inputs
from visiona.errors import InputNotFoundError, UsageError


def touch(path: Path, content: bytes = b"x") -> Path:
    """Creates a file (and its folders); content does not matter here, nothing is decoded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """photos/ with images at two depths, hidden entries and non-image files."""
    root = tmp_path / "photos"
    for name in (
        "b.jpg",
        "a.PNG",
        "c.webp",
        "notes.txt",
        "README",
        ".hidden.jpg",
        "sub/d.jpeg",
        "sub/deeper/e.tif",
        "sub/data.csv",
        ".cache/f.jpg",
        "sub/.thumbs/g.png",
    ):
        touch(root / name)
    return root


def rel(paths: list[Path], base: Path) -> list[str]:
    return [p.relative_to(base).as_posix() for p in paths]


def test_file_kept_as_given(tmp_path: Path) -> None:
    image = touch(tmp_path / "one.jpg")
    odd = touch(tmp_path / "scan.dat")  # not an image suffix: decoding decides later
    assert expand_inputs([image]) == [image]
    assert expand_inputs([str(odd)]) == [odd]
    assert expand_inputs([str(image), odd]) == [image, odd]


def test_relative_path_stays_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "pics" / "x.jpg")
    monkeypatch.chdir(tmp_path)
    assert expand_inputs(["pics/x.jpg"]) == [Path("pics/x.jpg")]
    assert expand_inputs(["pics"]) == [Path("pics/x.jpg")]
    assert expand_inputs(["pics/*.jpg"]) == [Path("pics/x.jpg")]


def test_folder_recursive_sorted_hidden_skipped(tree: Path) -> None:
    found = expand_inputs([tree])
    assert rel(found, tree) == ["a.PNG", "b.jpg", "c.webp", "sub/d.jpeg", "sub/deeper/e.tif"]
    assert all(p.is_relative_to(tree) for p in found)


def test_folder_not_recursive(tree: Path) -> None:
    assert rel(expand_inputs([str(tree)], recursive=False), tree) == ["a.PNG", "b.jpg", "c.webp"]


def test_hidden_folder_given_explicitly_is_scanned(tree: Path) -> None:
    assert rel(expand_inputs([tree / ".cache"]), tree) == [".cache/f.jpg"]


def test_current_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "sub")
    assert expand_inputs(["."]) == [Path("d.jpeg"), Path("deeper/e.tif")]


def test_glob_patterns(tree: Path) -> None:
    assert rel(expand_inputs([str(tree / "*.jpg")]), tree) == ["b.jpg"]
    assert rel(expand_inputs([str(tree / "?.*")]), tree) == ["a.PNG", "b.jpg", "c.webp"]
    assert rel(expand_inputs([str(tree / "[ab].*")]), tree) == ["a.PNG", "b.jpg"]


def test_glob_recursive_double_star(tree: Path) -> None:
    found = expand_inputs([str(tree / "**" / "*")])
    assert rel(found, tree) == ["a.PNG", "b.jpg", "c.webp", "sub/d.jpeg", "sub/deeper/e.tif"]
    assert rel(expand_inputs([str(tree / "sub" / "**" / "*.tif")]), tree) == ["sub/deeper/e.tif"]


def test_glob_keeps_only_image_files(tree: Path) -> None:
    # "sub" (a folder), notes.txt and README match but are not image files.
    assert rel(expand_inputs([str(tree / "*")]), tree) == ["a.PNG", "b.jpg", "c.webp"]


def test_order_follows_inputs_and_duplicates_dropped(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    found = expand_inputs(["sub/d.jpeg", ".", "*.jpg", str(tree / "b.jpg"), "sub/../b.jpg"])
    assert found == [
        Path("sub/d.jpeg"),  # first, as given
        Path("a.PNG"),
        Path("b.jpg"),
        Path("c.webp"),
        Path("sub/deeper/e.tif"),  # sub/d.jpeg already listed
    ]


def test_symlink_to_same_file_deduplicated(tmp_path: Path) -> None:
    real = touch(tmp_path / "real.jpg")
    link = tmp_path / "link.jpg"
    try:
        link.symlink_to(real)
    except (OSError, NotImplementedError):
        pytest.skip("symlinks not available")
    assert expand_inputs([link, real]) == [link]


def test_single_string_is_one_input(tmp_path: Path) -> None:
    image = touch(tmp_path / "solo.jpg")
    assert expand_inputs(str(image)) == [image]
    assert expand_inputs(image) == [image]


def test_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputNotFoundError, match=r"^path not found: 'x\.jpg'\n") as info:
        expand_inputs(["x.jpg"])
    assert info.value.message == "path not found: 'x.jpg'"
    assert info.value.hints and "check" in info.value.hints[0]
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_missing_path_after_good_ones(tmp_path: Path) -> None:
    image = touch(tmp_path / "ok.jpg")
    with pytest.raises(InputNotFoundError, match=r"path not found: '.*gone\.png'"):
        expand_inputs([image, tmp_path / "gone.png"])


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "dangling.jpg"
    try:
        link.symlink_to(tmp_path / "nowhere.jpg")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks not available")
    with pytest.raises(InputNotFoundError, match=r"broken symbolic link: '.*dangling\.jpg'"):
        expand_inputs([link])


def test_empty_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        InputNotFoundError,
        match=r"^folder '.*empty' holds no images \(looked for \.jpg, \.png, …\)",
    ) as info:
        expand_inputs([empty])
    assert ".webp" in " ".join(info.value.hints)


def test_folder_with_only_readme(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    touch(docs / "README.txt")
    touch(docs / ".secret.jpg")  # hidden: not counted
    with pytest.raises(InputNotFoundError, match=r"folder '.*docs' holds no images"):
        expand_inputs([docs])


def test_folder_with_images_only_in_subfolders_not_recursive(tmp_path: Path) -> None:
    touch(tmp_path / "top" / "inner" / "x.jpg")
    assert expand_inputs([tmp_path / "top"]) == [tmp_path / "top" / "inner" / "x.jpg"]
    with pytest.raises(InputNotFoundError, match="holds no images") as info:
        expand_inputs([tmp_path / "top"], recursive=False)
    assert any("recursive=False" in hint for hint in info.value.hints)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match=r"no files match '.*\*\.jpg'"):
        expand_inputs([str(tmp_path / "*.jpg")])


def test_glob_matching_only_non_images(tmp_path: Path) -> None:
    touch(tmp_path / "a.txt")
    touch(tmp_path / "b.txt")
    with pytest.raises(InputNotFoundError, match=r"matches no image files \(2 other entries\)"):
        expand_inputs([str(tmp_path / "*.txt")])


def test_glob_chars_in_existing_name_are_literal(tmp_path: Path) -> None:
    odd = touch(tmp_path / "img[1].jpg")
    touch(tmp_path / "img1.jpg")
    assert expand_inputs([str(odd)]) == [odd]


def test_empty_inputs() -> None:
    with pytest.raises(InputNotFoundError, match="no inputs given"):
        expand_inputs([])


def test_home_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = touch(tmp_path / "home" / "me.jpg")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert expand_inputs(["~/me.jpg"]) == [image]


def test_nothing_is_modified(tree: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tree.rglob("*") if p.is_file()}
    expand_inputs([tree, str(tree / "**" / "*.jpg")])
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tree.rglob("*") if p.is_file()}
    assert before == after
    assert sorted(os.listdir(tree)) == sorted(
        [".cache", ".hidden.jpg", "README", "a.PNG", "b.jpg", "c.webp", "notes.txt", "sub"]
    )
