"""YOLO txt labels + data.yaml: reading hand-written files, writing, and reading back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, ObjectAnnotation
from visiona.data.detection.yolo import label_path_for, read_yolo, write_yolo
from visiona.errors import UsageError


def test_reads_boxes_polygons_and_background(yolo_dir: Path) -> None:
    dataset, problems = read_yolo(yolo_dir)
    assert problems == []
    assert dataset.classes == ("cat", "dog")
    assert dataset.images_root == yolo_dir / "images"
    by_file = {i.file: i for i in dataset.images}
    assert sorted(by_file) == ["train/a.jpg", "train/b.png", "train/c.png", "val/d.png"]
    a = by_file["train/a.jpg"]
    assert (a.width, a.height, a.split, a.label_file) == (100, 50, "train", "labels/train/a.txt")
    cat, dog = a.objects
    assert cat.box == pytest.approx((40, 15, 60, 35))  # normalised cxcywh -> xyxy pixels
    assert (cat.class_id, cat.line) == (0, 1)
    assert dog.box == pytest.approx((20.3, 20, 30.3, 31))
    assert (dog.class_id, dog.line) == (1, 3)  # line numbers count the blank line
    polygon = by_file["train/b.png"].objects[0]
    assert polygon.polygons == [pytest.approx([8, 6, 40, 6, 40, 30])]
    assert polygon.box == pytest.approx((8, 6, 40, 30))  # the polygon's bounds
    assert by_file["train/c.png"].objects == []  # no label file: background
    assert by_file["val/d.png"].objects[0].box == pytest.approx((0, 0, 64, 64))


def test_reads_the_yaml_file_itself_and_a_list_file_split(yolo_dir: Path) -> None:
    (yolo_dir / "train.txt").write_text(
        "./images/train/a.jpg\nimages/train/b.png\nimages/gone.png\n"
    )
    (yolo_dir / "data.yaml").write_text("train: train.txt\nval: [images/val]\nnames: [cat, dog]\n")
    dataset, problems = read_yolo(yolo_dir / "data.yaml")
    assert sorted(i.file for i in dataset.images) == ["train/a.jpg", "train/b.png", "val/d.png"]
    assert [(p.file, p.line, p.kind) for p in problems] == [("train.txt", 3, "missing-image")]


def test_keypoints_with_kpt_shape(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "pose"
    image_writer(root / "images/train/p.png", 100, 200)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/train/p.txt").write_text("0 0.5 0.5 0.4 0.4 0.5 0.25 2 0.6 0.3 1 0 0 0\n")
    (root / "data.yaml").write_text(
        "train: images/train\nval: images/train\nnames: [person]\nkpt_shape: [3, 3]\n"
        "kpt_names: {0: [nose, l_eye, r_eye]}\nskeleton: [[0, 1], [0, 2]]\n"
    )
    dataset, problems = read_yolo(root)
    assert [(p.file, p.line, p.kind, p.level) for p in problems] == [
        ("data.yaml", 2, "duplicate-image", "warning")  # val: is train's folder
    ]
    assert dataset.keypoint_names == ("nose", "l_eye", "r_eye")
    assert dataset.skeleton == ((0, 1), (0, 2))
    obj = dataset.images[0].objects[0]
    assert obj.keypoints == pytest.approx([50, 50, 2, 60, 60, 1, 0, 0, 0])
    assert obj.box == pytest.approx((30, 60, 70, 140))

    out = write_yolo(dataset, tmp_path / "out")
    written = yaml.safe_load((out / "data.yaml").read_text())
    assert written["kpt_shape"] == [3, 3] and written["kpt_names"][0] == ["nose", "l_eye", "r_eye"]
    again, _ = read_yolo(out)
    assert again.images[0].objects[0].keypoints == pytest.approx(obj.keypoints)


def test_two_dimensional_keypoints_mark_zero_as_unlabelled(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "pose2"
    image_writer(root / "images/a.png", 10, 10)
    (root / "labels").mkdir()
    (root / "labels/a.txt").write_text("0 0.5 0.5 0.4 0.4 0.5 0.5 0 0\n")
    (root / "data.yaml").write_text("train: images\nnames: [x]\nkpt_shape: [2, 2]\n")
    dataset, problems = read_yolo(root)
    assert problems == []
    assert dataset.images[0].objects[0].keypoints == [5, 5, 2, 0, 0, 0]


def test_write_detect_and_segment_labels(yolo_dir: Path, tmp_path: Path) -> None:
    dataset, _ = read_yolo(yolo_dir)
    out = write_yolo(dataset, tmp_path / "seg", labels="polygons")
    written = yaml.safe_load((out / "data.yaml").read_text())
    assert written["train"] == "images/train" and written["val"] == "images/val"
    assert written["names"] == {0: "cat", 1: "dog"} and written["nc"] == 2
    # Polygons asked for: box-only objects become 4-corner polygons.
    assert (out / "labels/train/a.txt").read_text().splitlines()[
        0
    ] == "0 0.4 0.3 0.6 0.3 0.6 0.7 0.4 0.7"
    assert (out / "labels/train/c.txt").read_text() == ""  # background: empty label file
    assert (out / "images/train/a.jpg").read_bytes() == (
        yolo_dir / "images/train/a.jpg"
    ).read_bytes()

    notes: list = []
    out = write_yolo(dataset, tmp_path / "det", problems=notes)  # boxes: the default
    assert (out / "labels/train/a.txt").read_text() == "0 0.5 0.5 0.2 0.4\n1 0.253 0.51 0.1 0.22\n"
    assert (out / "labels/train/b.txt").read_text() == "1 0.3 0.3 0.4 0.4\n"  # polygon's box
    assert [n.kind for n in notes] == ["lost-data"] and "polygons" in notes[0].message
    with pytest.raises(UsageError, match="boxes, polygons"):
        write_yolo(dataset, tmp_path / "bad", labels="masks")


def test_coco_to_yolo_boxes_keep_the_stored_box(tmp_path: Path, image_writer) -> None:
    """A COCO box wider than its polygon stays as it is; polygons only when asked for."""
    import json

    from visiona.data.detection.convert import convert

    root = tmp_path / "coco"
    image_writer(root / "images/a.png", 100, 50)
    (root / "annotations").mkdir(parents=True)
    (root / "annotations/instances_train.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 50}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 5, 60, 40],
                         "segmentation": [[20, 10, 50, 10, 50, 30]], "area": 300, "iscrowd": 0}],
    }))  # fmt: skip
    report = convert(root, tmp_path / "boxes", to_format="yolo")
    assert (tmp_path / "boxes/labels/train/a.txt").read_text() == "0 0.4 0.5 0.6 0.8\n"
    assert [n.kind for n in report.notes] == ["lost-data"]
    again, _ = read_yolo(tmp_path / "boxes")
    assert again.images[0].objects[0].box == pytest.approx((10, 5, 70, 45))

    convert(root, tmp_path / "polygons", to_format="yolo", yolo_labels="polygons")
    line = (tmp_path / "polygons/labels/train/a.txt").read_text()
    assert line == "0 0.2 0.2 0.5 0.2 0.5 0.6\n"
    again, _ = read_yolo(tmp_path / "polygons")
    assert again.images[0].objects[0].polygons == [pytest.approx([20, 10, 50, 10, 50, 30])]


def test_crowd_objects_and_bad_class_ids_are_not_written(tmp_path: Path, image_writer) -> None:
    image_writer(tmp_path / "src/x.png", 20, 10)
    dataset = DetectionDataset(
        images_root=tmp_path / "src",
        classes=("a",),
        images=[
            ImageAnnotation(
                "x.png",
                20,
                10,
                [ObjectAnnotation((0, 0, 10, 10), 0), ObjectAnnotation((0, 0, 5, 5), 0, iscrowd=True),
                 ObjectAnnotation((0, 0, 5, 5), 3)],
            )
        ],
    )  # fmt: skip
    notes: list = []
    out = write_yolo(dataset, tmp_path / "out", problems=notes)
    assert (out / "labels/x.txt").read_text() == "0 0.25 0.5 0.5 1\n"
    assert {n.kind for n in notes} == {"lost-data", "class-out-of-range"}
    written = yaml.safe_load((out / "data.yaml").read_text())
    assert written["train"] == written["val"] == "images"


def test_no_data_yaml_uses_folders_and_classes_txt(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "bare"
    image_writer(root / "images/train/a.png", 10, 10)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/train/a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    dataset, problems = read_yolo(root)
    assert dataset.classes == ("0", "1") and [p.kind for p in problems] == ["no-names"]
    (root / "classes.txt").write_text("red\nblue\n")
    dataset, problems = read_yolo(root)
    assert dataset.classes == ("red", "blue") and problems == []


@pytest.mark.parametrize("split", ["train", ""], ids=["images-split", "images-flat"])
def test_data_yaml_with_only_names_falls_back_to_the_folders(
    tmp_path: Path, image_writer, split: str
) -> None:
    root = tmp_path / "other-tool"
    image_writer(root / "images" / split / "a.png", 20, 10)
    image_writer(root / "images" / split / "b.png", 20, 10, seed=1)
    (root / "labels" / split).mkdir(parents=True)
    (root / "labels" / split / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text("nc: 2\nnames: [red, blue]\n")
    dataset, problems = read_yolo(root)
    assert dataset.classes == ("red", "blue")
    assert sorted(i.file for i in dataset.images) == sorted(
        str(Path(split) / name) for name in ("a.png", "b.png")
    )
    assert {i.split for i in dataset.images} == {split}
    a = next(i for i in dataset.images if i.file.endswith("a.png"))
    assert a.objects[0].class_id == 1 and a.objects[0].box == pytest.approx((5, 2.5, 15, 7.5))
    assert [(p.level, p.kind) for p in problems] == [("warning", "no-splits")]
    assert "images" in problems[0].message


def test_data_yaml_with_only_names_and_no_images_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "data.yaml").write_text("nc: 1\nnames: [red]\n")
    dataset, problems = read_yolo(root)
    assert dataset.images == [] and [p.level for p in problems] == ["error"]


def test_label_path_rule() -> None:
    assert label_path_for(Path("/d/images/train/x.jpg")) == Path("/d/labels/train/x.txt")
    assert label_path_for(Path("/images/d/images/x.jpg")) == Path("/images/d/labels/x.txt")
    assert label_path_for(Path("/d/pics/x.jpg")) == Path("/d/pics/x.txt")


def test_roboflow_style_parent_paths(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "rf"
    image_writer(root / "train/images/a.png", 10, 10)
    (root / "train/labels").mkdir(parents=True)
    (root / "train/labels/a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: ../train/images\nnames: [a]\n")
    dataset, problems = read_yolo(root)
    assert problems == [] and len(dataset.images[0].objects) == 1


def test_exif_rotation_and_byte_order_mark(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "exif"
    (root / "images").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: shown as 30 wide, 40 high
    Image.new("RGB", (40, 30)).save(root / "images/r.jpg", exif=exif)
    (root / "labels").mkdir()
    (root / "labels/r.txt").write_text("\ufeff0 0.5 0.5 1 1\r\n", encoding="utf-8")
    (root / "data.yaml").write_text("train: images\nnames: [x]\n")
    dataset, problems = read_yolo(root)
    assert problems == []
    image = dataset.images[0]
    assert (image.width, image.height) == (30, 40)
    assert image.objects[0].box == (0, 0, 30, 40)
