"""Training splits: the data set's own splits, seeded random splits, JSON, bad labels left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from visiona.data.detection.convert import read_dataset, write_dataset
from visiona.data.detection.shapes import make_shapes
from visiona.data.detection.splits import DetectionSplits, load_detection_splits, split_role
from visiona.errors import UsageError


def files(images) -> list[str]:
    return [image.file for image in images]


def unsplit_copy(src: Path, dst: Path, fmt: str) -> Path:
    """``src`` rewritten in ``fmt`` without splits (YOLO: bare images/ + labels/ folders)."""
    dataset, _ = read_dataset(src)
    for image in dataset.images:
        image.split = ""
    write_dataset(dataset, dst, fmt)
    if fmt == "yolo":  # the YOLO writer names the images train and val: flatten, no data.yaml
        (dst / "data.yaml").unlink()
        for folder in ("images", "labels"):
            for file in sorted((dst / folder).glob("*/*")):
                file.rename(dst / folder / file.name)
        (dst / "classes.txt").write_text("\n".join(dataset.classes) + "\n")
    return dst


@pytest.mark.parametrize("fmt", ["coco", "yolo"])
def test_uses_the_datasets_own_splits(fmt: str, tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=10, image_size=48, fmt=fmt, val_fraction=0.3)
    splits = load_detection_splits(tmp_path / "s", val_fraction=0.5, test_fraction=0.2)
    dataset, _ = read_dataset(tmp_path / "s")
    assert splits.origin == "mixed"  # own train / val, a test split drawn from train
    assert files(splits.val) == [i.file for i in dataset.images if i.split == "val"]
    assert len(splits.val) == 3 and len(splits.test) == 2 and len(splits.train) == 5
    assert set(files(splits.train)) | set(files(splits.test)) == {
        i.file for i in dataset.images if i.split == "train"
    }
    assert splits.problems == [] and splits.dataset.classes == ("circle", "square", "triangle")
    only_own = load_detection_splits(tmp_path / "s", fmt=fmt)
    assert only_own.origin == "dataset" and only_own.test == [] and len(only_own.train) == 7


def test_split_names_valid_and_validation_mean_val(tmp_path: Path) -> None:
    assert [split_role(n) for n in ("valid", "validation", "val2017", "train2017", "trainval")] == [
        "val", "val", "val", "train", "train",
    ]  # fmt: skip
    assert split_role("test-dev") == "test" and split_role("extra") is None
    make_shapes(tmp_path / "s", num_images=6, image_size=40, fmt="coco")
    annotations = tmp_path / "s/annotations"
    (annotations / "instances_val.json").rename(annotations / "instances_validation.json")
    splits = load_detection_splits(tmp_path / "s", val_fraction=0)
    assert splits.origin == "dataset" and len(splits.val) == 1 and len(splits.train) == 5


def test_seeded_random_split_is_reproducible(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=20, image_size=40, fmt="yolo")
    root = unsplit_copy(tmp_path / "s", tmp_path / "flat", "yolo")
    first = load_detection_splits(root, val_fraction=0.25, test_fraction=0.1, seed=3)
    again = load_detection_splits(root, val_fraction=0.25, test_fraction=0.1, seed=3)
    other = load_detection_splits(root, val_fraction=0.25, test_fraction=0.1, seed=4)
    assert first.origin == "random"
    assert first.counts() == {"train": 13, "val": 5, "test": 2}
    for role in ("train", "val", "test"):
        assert files(getattr(first, role)) == files(getattr(again, role))
    assert files(first.val) != files(other.val)
    everything = files(first.train) + files(first.val) + files(first.test)
    assert sorted(everything) == sorted(i.file for i in first.dataset.images)


def test_missing_val_split_is_drawn_or_refused(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=10, image_size=40, fmt="coco", val_fraction=0)
    drawn = load_detection_splits(tmp_path / "s", val_fraction=0.2, seed=1)
    assert drawn.origin == "mixed" and len(drawn.val) == 2 and len(drawn.train) == 8
    with pytest.raises(UsageError, match="no val split and the val fraction is 0"):
        load_detection_splits(tmp_path / "s", val_fraction=0)
    with pytest.raises(UsageError, match="val fraction"):
        load_detection_splits(tmp_path / "s", val_fraction=0.7, test_fraction=0.3)


def test_json_round_trip(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=12, image_size=40, fmt="yolo")
    root = unsplit_copy(tmp_path / "s", tmp_path / "flat", "coco")
    splits = load_detection_splits(root, val_fraction=0.25, test_fraction=0.25, seed=5)
    text = splits.to_json()
    assert json.loads(text)["splits"]["val"] == files(splits.val)
    for dataset in (read_dataset(root)[0], splits.dataset):
        back = DetectionSplits.from_json(text, dataset)
        assert back.origin == "json" and back.seed == 5
        for role in ("train", "val", "test"):
            assert files(getattr(back, role)) == files(getattr(splits, role))
        assert [i.objects for i in back.train] == [i.objects for i in splits.train]
    smaller = read_dataset(root)[0]
    gone = smaller.images.pop()
    with pytest.raises(UsageError, match=f"names '{gone.file}'"):
        DetectionSplits.from_json(text, smaller)
    with pytest.raises(UsageError, match="not a visiona split file"):
        DetectionSplits.from_json('{"splits": []}', smaller)
    with pytest.raises(UsageError, match="not valid JSON"):
        DetectionSplits.from_json("{", smaller)


def test_coco_missing_image_and_unknown_category_reported_and_left_out(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=6, image_size=40, fmt="coco", val_fraction=0.34)
    json_path = tmp_path / "s/annotations/instances_train.json"
    document = json.loads(json_path.read_text())
    victim = document["images"][0]["file_name"]
    (tmp_path / "s/images" / victim).unlink()
    document["annotations"][-1]["category_id"] = 99
    text = json.dumps(document, indent=1)
    json_path.write_text(text)
    lines = text.splitlines()

    splits = load_detection_splits(tmp_path / "s")
    found = {(p.kind, p.file, p.line) for p in splits.errors}
    where = "annotations/instances_train.json"
    named = next(n for n, line in enumerate(lines, 1) if victim in line)
    image_line = max(n for n in range(1, named) if lines[n - 1].strip() == "{")  # entry start
    assert ("missing-image", where, image_line) in found
    assert any(
        kind == "class-out-of-range" and file == where and line for kind, file, line in found
    )
    assert all(victim not in image.file for image in splits.train + splits.val)
    assert len(splits.train) == 3 and len(splits.val) == 2
    objects = sum(len(i.objects) for i in splits.train)
    assert objects == sum(1 for a in document["annotations"] if a["category_id"] != 99) - sum(
        1
        for a in document["annotations"]
        if a["image_id"] == document["images"][0]["id"] and a["category_id"] != 99
    )


def test_yolo_bad_lines_reported_with_line_and_dropped_background_kept(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=6, image_size=40, fmt="yolo", val_fraction=0.34)
    labels = sorted((tmp_path / "s/labels/train").glob("*.txt"))
    first = labels[0]
    good = first.read_text().splitlines()[0]
    first.write_text(
        f"{good}\n7 0.5 0.5 0.2 0.2\n0 0.5 0.5 0 0.3\n1 1.5 1.5 0.2 0.2\n"  # class, zero, outside
    )
    labels[1].unlink()  # a background image
    (tmp_path / "s/labels/train/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")

    splits = load_detection_splits(tmp_path / "s")
    where = f"labels/train/{first.name}"
    found = {(p.kind, p.file, p.line) for p in splits.errors}
    assert {
        ("class-out-of-range", where, 2),
        ("degenerate-box", where, 3),
        ("out-of-bounds", where, 4),
        ("missing-image", "labels/train/ghost.txt", None),
    } <= found
    by_name = {Path(i.file).stem: i for i in splits.train}
    assert len(by_name[first.stem].objects) == 1  # only the good line
    assert by_name[labels[1].stem].objects == []  # background image kept
    assert len(splits.train) == 4


def test_no_usable_training_image_and_format_mismatch(tmp_path: Path) -> None:
    make_shapes(tmp_path / "s", num_images=4, image_size=40, fmt="yolo", val_fraction=0.25)
    with pytest.raises(UsageError, match="not a COCO data set; it looks like YOLO"):
        load_detection_splits(tmp_path / "s", fmt="coco")
    for label in (tmp_path / "s/labels/train").glob("*.txt"):
        label.write_text("5 0.5 0.5 0.2 0.2\n")
    with pytest.raises(UsageError, match="no labelled training image is usable"):
        load_detection_splits(tmp_path / "s")
