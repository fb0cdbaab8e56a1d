"""``check_dataset``: every kind of bad input, reported with its exact file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from visiona.data.detection.check import check_dataset
from visiona.errors import InputNotFoundError, UsageError


def found(report) -> set[tuple[str, str, int | None, str]]:
    return {(p.kind, p.file, p.line, p.level) for p in report.problems}


def test_clean_set_counts_classes_splits_and_background(yolo_dir: Path, tree_hash) -> None:
    before = tree_hash(yolo_dir)
    report = check_dataset(yolo_dir)
    assert report.ok and report.problems == []
    assert (report.format, report.classes, report.splits) == (
        "yolo",
        ("cat", "dog"),
        ["train", "val"],
    )
    assert report.images == {"train": 3, "val": 1}
    assert report.objects["train"] == {0: 1, 1: 2} and report.objects["val"] == {0: 1}
    assert report.images_with_class == {0: 2, 1: 2}
    assert report.background == ["train/c.png"]  # no label file: background, not a problem
    assert tree_hash(yolo_dir) == before  # reported, never fixed in place


def test_yolo_bad_lines_boxes_classes_and_files(yolo_dir: Path, image_writer) -> None:
    (yolo_dir / "labels/train/a.txt").write_text(
        "0 0.5 0.5 0.2 0.4\n"  # 1 fine
        "0 0.5 0.5 0.2\n"  # 2 four values
        "0 0.5 abc 0.2 0.2\n"  # 3 not a number
        "5 0.5 0.5 0.2 0.2\n"  # 4 class id out of range
        "1 0.5 0.5 0 0.2\n"  # 5 zero width
        "0 0.9 0.5 0.4 0.2\n"  # 6 extends past the right edge
        "0 0.5 0.5 0.2 0.4\n"  # 7 duplicate of line 1
        "1.5 0.5 0.5 0.2 0.2\n"  # 8 class not an integer
        "0 3.5 0.5 0.4 0.2\n"  # 9 entirely outside
        "0 0.5 0.5 0.2 0.2 0.1\n"  # 10 six values
    )
    (yolo_dir / "labels/train/b.txt").write_text("1 0.1 0.1 0.5 0.1 0.5 0.5\n0 0.5 0.5 0.2 0.2\n")
    (yolo_dir / "labels/train/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")  # no image
    shutil.copy(yolo_dir / "images/train/b.png", yolo_dir / "images/val/b_copy.png")
    (yolo_dir / "images/train/broken.png").write_bytes(b"not an image at all")
    report = check_dataset(yolo_dir)
    a, b = "labels/train/a.txt", "labels/train/b.txt"
    assert found(report) == {
        ("broken-line", a, 2, "error"),
        ("broken-line", a, 3, "error"),
        ("class-out-of-range", a, 4, "error"),
        ("degenerate-box", a, 5, "error"),
        ("out-of-bounds", a, 6, "error"),
        ("duplicate-label", a, 7, "warning"),
        ("broken-line", a, 8, "error"),
        ("out-of-bounds", a, 9, "error"),
        ("broken-line", a, 10, "error"),
        ("mixed-format", b, 2, "warning"),
        ("missing-image", "labels/train/ghost.txt", None, "error"),
        ("duplicate-image", "images/val/b_copy.png", None, "warning"),
        ("unreadable-image", "images/train/broken.png", None, "error"),
    }
    assert not report.ok
    messages = {p.line: p.message for p in report.problems if p.file == a}
    assert (
        messages[2]
        == "expected 5 values (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...), found 4"
    )
    assert messages[4] == "class id 5 out of range (2 classes: 0-1)"
    assert "extends outside the image (100×50)" in messages[6] and "fractions" in messages[6]
    assert "evaluation leaks" in next(
        p.message for p in report.problems if p.kind == "duplicate-image"
    )
    assert "train/c.png" in report.background and "train/broken.png" in report.background


def test_yolo_data_yaml_problems(yolo_dir: Path) -> None:
    (yolo_dir / "data.yaml").write_text(
        "train: images/train\nval: images/nothere\nnc: 3\nnames: [cat, dog]\n"
    )
    report = check_dataset(yolo_dir)
    assert found(report) == {
        ("missing-folder", "data.yaml", 2, "error"),
        ("class-mismatch", "data.yaml", 3, "error"),
    }
    (yolo_dir / "data.yaml").write_text("train: images/train\nnames: [cat, dog\nval: x\n")
    report = check_dataset(yolo_dir, "yolo")
    assert ("broken-file", "data.yaml", 3) in [(p.kind, p.file, p.line) for p in report.problems]


def test_yolo_keypoint_count_mismatch(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "pose"
    image_writer(root / "images/train/p.png", 20, 20)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/train/p.txt").write_text(
        "0 0.5 0.5 0.4 0.4 0.5 0.5 2\n0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.4 0.4 1.5 0.5 2 0.5 0.5 2\n"
    )
    (root / "data.yaml").write_text("train: images/train\nnames: [p]\nkpt_shape: [2, 3]\n")
    report = check_dataset(root)
    assert found(report) == {
        ("broken-line", "labels/train/p.txt", 1, "error"),
        ("broken-line", "labels/train/p.txt", 2, "error"),
        ("keypoint-out-of-bounds", "labels/train/p.txt", 3, "warning"),
    }
    assert (
        report.problems[0].message
        == "expected 11 values (class, cx cy w h, 2 keypoints × 3), found 8"
    )


COCO = """{
"images": [
{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
{"id": 2, "file_name": "gone.png", "width": 40, "height": 30},
{"id": 3, "file_name": "b.png", "width": 99, "height": 30}
],
"categories": [{"id": 1, "name": "thing"}],
"annotations": [
{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
{"id": 2, "image_id": 1, "category_id": 1, "bbox": [5, 5, 0, 10]},
{"id": 3, "image_id": 1, "category_id": 1, "bbox": [35, 5, 10, 10]},
{"id": 4, "image_id": 9, "category_id": 1, "bbox": [1, 1, 2, 2]},
{"id": 5, "image_id": 1, "category_id": 4, "bbox": [1, 1, 2, 2]},
{"id": 6, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2]},
{"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "segmentation": [[1, 1, 2]]},
{"id": 8, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "segmentation": {"size": [3, 3], "counts": [1]}}
]
}
"""


def test_coco_problems_with_lines(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "coco"
    image_writer(root / "images/a.png", 40, 30)
    image_writer(root / "images/b.png", 40, 30, seed=1)  # declared 99 wide
    image_writer(root / "images/extra.png", 8, 8, seed=2)  # in no annotation file
    (root / "annotations").mkdir()
    (root / "annotations/instances_train.json").write_text(COCO)
    report = check_dataset(root)
    where = "annotations/instances_train.json"
    assert found(report) == {
        ("missing-image", where, 4, "error"),  # image entry whose file is missing
        ("size-mismatch", where, 5, "error"),
        ("degenerate-box", where, 10, "error"),
        ("out-of-bounds", where, 11, "error"),
        ("missing-image", where, 12, "error"),  # annotation of an unknown image id
        ("class-out-of-range", where, 13, "error"),  # unknown category id
        ("broken-line", where, 14, "error"),  # bbox of 3 numbers
        ("broken-line", where, 15, "error"),  # polygon of 1.5 points
        ("broken-line", where, 16, "error"),  # RLE that does not cover 3×3
        ("unlisted-image", "images/extra.png", None, "warning"),
    }
    messages = {p.line: p.message for p in report.problems}
    assert messages[4] == "labels refer to a missing image: images/gone.png"
    assert messages[5] == "declared size 99×30 but images/b.png is 40×30"
    assert messages[12] == "annotation 4 refers to image id 9, which is not in 'images'"


def test_coco_invalid_json_line(tmp_path: Path) -> None:
    (tmp_path / "c/annotations").mkdir(parents=True)
    (tmp_path / "c/annotations/instances_val.json").write_text(
        '{"images": [\n{"id": 1, "file_name": "x"},\n}\n'
    )
    report = check_dataset(tmp_path / "c")
    assert found(report) == {("broken-file", "annotations/instances_val.json", 3, "error")}


VOC_XML = """<annotation>
  <filename>{name}.jpg</filename>
  <size><width>40</width><height>30</height></size>
  <object>
    <name>cat</name>
    <bndbox><xmin>5</xmin><ymin>5</ymin><xmax>3</xmax><ymax>10</ymax></bndbox>
  </object>
  <object>
    <name>cat</name>
    <bndbox><xmin>five</xmin><ymin>5</ymin><xmax>9</xmax><ymax>10</ymax></bndbox>
  </object>
  <object>
    <name>cat</name>
  </object>
  <object>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>
  </object>
</annotation>
"""


def test_voc_problems_with_lines(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations/a.xml").write_text(VOC_XML.format(name="a"))
    (root / "Annotations/b.xml").write_text(VOC_XML.format(name="b").replace("</annotation>", ""))
    (root / "Annotations/c.xml").write_text(
        "<annotation>\n  <filename>gone.jpg</filename>\n</annotation>\n"
    )
    (root / "Annotations/d.xml").write_text("<annotations/>\n")
    image_writer(root / "JPEGImages/a.jpg", 40, 30)
    (root / "ImageSets/Main").mkdir(parents=True)
    (root / "ImageSets/Main/val.txt").write_text("a\nnothing\n")
    report = check_dataset(root)
    assert found(report) == {
        ("degenerate-box", "Annotations/a.xml", 6, "error"),
        ("broken-line", "Annotations/a.xml", 10, "error"),
        ("broken-line", "Annotations/a.xml", 12, "error"),
        ("broken-line", "Annotations/a.xml", 15, "error"),
        ("broken-file", "Annotations/b.xml", 19, "error"),
        ("missing-image", "Annotations/c.xml", 2, "error"),
        ("format-mismatch", "Annotations/d.xml", 1, "error"),
        ("missing-image", "ImageSets/Main/val.txt", 2, "error"),
    }


def test_mismatched_format_and_usage_errors(yolo_dir: Path, tmp_path: Path) -> None:
    report = check_dataset(yolo_dir, "coco")
    assert found(report) == {("format-mismatch", ".", None, "error")}
    assert (
        report.problems[0].message == "this is not a COCO data set; it looks like YOLO (data.yaml)"
    )
    with pytest.raises(UsageError, match="unknown label format"):
        check_dataset(yolo_dir, "kitti")
    with pytest.raises(InputNotFoundError):
        check_dataset(tmp_path / "nothing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match="cannot tell"):
        check_dataset(tmp_path / "plain")
    report = check_dataset(tmp_path / "plain", "voc")
    assert [p.kind for p in report.problems] == ["format-mismatch"]
    json.dumps([str(p) for p in report.problems])  # problems print as one line each
