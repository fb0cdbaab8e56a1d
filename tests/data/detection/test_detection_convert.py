"""Conversion among COCO, YOLO and VOC: the issue's round trip, all directions, source intact."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from visiona.data.detection.convert import convert, detect_format, detect_formats, read_dataset
from visiona.data.detection.masks import object_mask
from visiona.data.detection.shapes import make_shapes
from visiona.errors import InputNotFoundError, UsageError


def yolo_labels(root: Path) -> dict[str, list[tuple[int, tuple[float, ...]]]]:
    """``{"<split>/<stem>": [(class id, xyxy pixels), ...]}`` read from a YOLO folder."""
    dataset, problems = read_dataset(root, "yolo")
    assert [p for p in problems if p.level == "error"] == []
    return {
        f"{image.split}/{Path(image.name).stem}": [(o.class_id, o.box) for o in image.objects]
        for image in dataset.images
    }


def assert_same_labels(before: dict, after: dict, tolerance: float = 1.0) -> None:
    assert sorted(before) == sorted(after)
    for key, objects in before.items():
        assert [c for c, _ in after[key]] == [c for c, _ in objects], key
        for (_, old), (_, new) in zip(objects, after[key], strict=True):
            assert np.abs(np.subtract(old, new)).max() <= tolerance, (key, old, new)


@pytest.fixture
def odd_yolo(tmp_path: Path, image_writer) -> Path:
    """A YOLO box set with fractional boxes on odd image sizes, 2 splits, a background image."""
    root = tmp_path / "odd"
    rng = np.random.default_rng(5)
    for index in range(8):
        split = "val" if index % 4 == 0 else "train"
        width, height = int(rng.integers(31, 97)), int(rng.integers(29, 83))
        image_writer(root / f"images/{split}/img{index}.jpg", width, height, seed=index)
        lines = []
        for _ in range(int(rng.integers(0 if index == 3 else 1, 4))):
            w, h = rng.uniform(0.05, 0.5, 2)
            cx, cy = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
            lines.append(f"{rng.integers(0, 3)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
        (root / f"labels/{split}").mkdir(parents=True, exist_ok=True)
        (root / f"labels/{split}/img{index}.txt").write_text(
            "\n".join(lines) + "\n" if lines else ""
        )
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [a, b, c]\n")
    return root


def test_round_trip_yolo_coco_voc_yolo_within_one_pixel(
    odd_yolo: Path, tmp_path: Path, tree_hash
) -> None:
    before = tree_hash(odd_yolo)
    coco = convert(odd_yolo, tmp_path / "coco", "yolo", "coco")
    voc = convert(tmp_path / "coco", tmp_path / "voc", "coco", "voc")
    back = convert(tmp_path / "voc", tmp_path / "back", "voc", "yolo")
    assert (coco.images, voc.images, back.images) == (8, 8, 8)
    assert coco.problems == voc.problems == back.problems == []
    assert_same_labels(yolo_labels(odd_yolo), yolo_labels(tmp_path / "back"))
    assert (tmp_path / "back/data.yaml").read_text().count("names") == 1
    assert tree_hash(odd_yolo) == before  # the source is never modified


def test_round_trip_keeps_shapes_masks_exactly(tmp_path: Path) -> None:
    make_shapes(tmp_path / "src", num_images=6, image_size=64, fmt="yolo", seed=3)
    convert(tmp_path / "src", tmp_path / "coco", "yolo", "coco")
    convert(tmp_path / "coco", tmp_path / "voc", "coco", "voc")  # masks -> SegmentationObject PNGs
    convert(tmp_path / "voc", tmp_path / "back", "voc", "yolo", yolo_labels="polygons")
    first, _ = read_dataset(tmp_path / "src", "yolo")
    last, _ = read_dataset(tmp_path / "back", "yolo")
    assert_same_labels(
        yolo_labels(tmp_path / "src"), yolo_labels(tmp_path / "back"), tolerance=1e-3
    )
    for old, new in zip(first.images, last.images, strict=True):
        for a, b in zip(old.objects, new.objects, strict=True):
            size = (old.height, old.width)
            assert (object_mask(a, *size) == object_mask(b, *size)).all()


@pytest.mark.parametrize(
    ("source", "target"), list(itertools.permutations(["coco", "yolo", "voc"], 2))
)
def test_every_direction_keeps_boxes_classes_and_splits(
    source: str, target: str, tmp_path: Path, tree_hash
) -> None:
    make_shapes(tmp_path / "src", num_images=5, image_size=48, fmt=source, seed=1)
    before = tree_hash(tmp_path / "src")
    report = convert(tmp_path / "src", tmp_path / "dst", None, target)  # source format detected
    assert (report.from_format, report.to_format, report.images) == (source, target, 5)
    assert detect_format(tmp_path / "dst") == target
    original, _ = read_dataset(tmp_path / "src")
    converted, problems = read_dataset(tmp_path / "dst")
    assert [p for p in problems if p.level == "error"] == []
    assert converted.classes == original.classes == ("circle", "square", "triangle")

    def key(dataset):
        return sorted(
            (
                i.split,
                Path(i.name).stem,
                [(o.class_id, tuple(round(v, 3) for v in o.box)) for o in i.objects],
            )
            for i in dataset.images
        )

    assert key(converted) == key(original)  # whole-pixel boxes: exact up to YOLO's 6 decimals
    assert tree_hash(tmp_path / "src") == before


def test_keypoints_survive_yolo_coco_yolo(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "pose"
    image_writer(root / "images/train/p.png", 100, 200)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/train/p.txt").write_text("0 0.5 0.5 0.4 0.4 0.5 0.25 2 0.6 0.3 1 0 0 0\n")
    (root / "data.yaml").write_text("train: images/train\nnames: [person]\nkpt_shape: [3, 3]\n")
    convert(root, tmp_path / "coco", "yolo", "coco")
    coco, _ = read_dataset(tmp_path / "coco")
    assert coco.keypoint_names == ("kpt0", "kpt1", "kpt2")
    assert coco.images[0].objects[0].keypoints == pytest.approx([50, 50, 2, 60, 60, 1, 0, 0, 0])
    report = convert(tmp_path / "coco", tmp_path / "voc", "coco", "voc")
    assert [n.kind for n in report.notes] == ["lost-data"]  # VOC has no keypoints
    convert(tmp_path / "coco", tmp_path / "back", "coco", "yolo")
    assert (tmp_path / "back/labels/train/p.txt").read_text() == (
        root / "labels/train/p.txt"
    ).read_text()


def test_detect_format_and_bad_paths(tmp_path: Path, odd_yolo: Path) -> None:
    assert detect_format(odd_yolo) == "yolo"
    assert detect_format(odd_yolo / "data.yaml") == "yolo"
    assert detect_formats(odd_yolo) == [("yolo", "data.yaml")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="cannot tell the label format"):
        detect_format(tmp_path / "empty")
    with pytest.raises(InputNotFoundError):
        convert(tmp_path / "missing", tmp_path / "out", to_format="coco")
    with pytest.raises(UsageError, match="inside the source"):
        convert(odd_yolo, odd_yolo / "converted", to_format="coco")
    with pytest.raises(UsageError, match="unknown label format 'json'"):
        convert(odd_yolo, tmp_path / "out", to_format="json")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/file.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        convert(odd_yolo, tmp_path / "taken", to_format="voc")
    (odd_yolo / "annotations").mkdir()
    (odd_yolo / "annotations/instances_x.json").write_text('{"images": [{"file_name": "a"}]}')
    with pytest.raises(UsageError, match="several label formats"):
        detect_format(odd_yolo)
