"""COCO instances JSON: reading hand-written files, writing, and reading back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, ObjectAnnotation
from visiona.data.detection.coco import find_coco_files, read_coco, split_of, write_coco
from visiona.data.detection.masks import mask_to_rle, rle_to_mask
from visiona.errors import InputNotFoundError, UsageError

RLE_MASK = np.zeros((40, 50), dtype=bool)
RLE_MASK[10:20, 5:15] = True

COCO = {
    "info": {},
    "categories": [
        {"id": 7, "name": "dog", "supercategory": "animal"},
        {
            "id": 3,
            "name": "person",
            "keypoints": ["nose", "left_eye", "right_eye"],
            "skeleton": [[1, 2], [1, 3]],
        },
    ],
    "images": [
        {"id": 10, "file_name": "a.png", "width": 50, "height": 40},
        {"id": 11, "file_name": "b.png", "width": 30, "height": 20},
    ],
    "annotations": [
        {"id": 1, "image_id": 10, "category_id": 3, "bbox": [5, 6, 10.5, 20], "iscrowd": 0,
         "segmentation": [[5, 6, 15.5, 6, 15.5, 26]], "area": 1,
         "keypoints": [6, 7, 2, 8, 9, 1, 0, 0, 0], "num_keypoints": 2},
        {"id": 2, "image_id": 10, "category_id": 7, "bbox": [5, 10, 10, 10], "iscrowd": 1,
         "segmentation": mask_to_rle(RLE_MASK), "area": 100},
        {"id": 3, "image_id": 10, "category_id": 7, "bbox": [0, 0, 4, 4], "iscrowd": 0,
         "segmentation": mask_to_rle(RLE_MASK, compressed=True), "area": 100},
    ],
}  # fmt: skip


def write_json(path: Path, data: dict) -> str:
    """Write ``data`` pretty-printed (one key per line) and return the text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1)
    path.write_text(text)
    return text


def line_of(text: str, needle: str, start: str | None = None) -> int:
    """1-based line of the first ``needle`` (after ``start`` when given)."""
    offset = text.index(start) if start else 0
    return text.count("\n", 0, text.index(needle, offset)) + 1


@pytest.fixture
def coco_dir(tmp_path: Path, image_writer) -> Path:
    root = tmp_path / "coco"
    image_writer(root / "images/a.png", 50, 40)
    image_writer(root / "images/b.png", 30, 20, seed=1)
    write_json(root / "annotations/instances_train.json", COCO)
    return root


def test_reads_boxes_categories_masks_keypoints_and_crowd(coco_dir: Path) -> None:
    dataset, problems = read_coco(coco_dir)
    assert problems == []
    assert dataset.classes == ("person", "dog")  # category ids 3, 7 -> class ids 0, 1
    assert dataset.keypoint_names == ("nose", "left_eye", "right_eye")
    assert dataset.skeleton == ((0, 1), (0, 2))  # 1-based in COCO, 0-based here
    assert dataset.images_root == coco_dir / "images"
    a, b = dataset.images
    assert (a.file, a.width, a.height, a.split) == ("a.png", 50, 40, "train")
    assert b.objects == []  # background image
    person, crowd, compressed = a.objects
    assert person.box == (5.0, 6.0, 15.5, 26.0)  # xywh -> xyxy
    assert person.class_id == 0 and not person.iscrowd
    assert person.polygons == [[5.0, 6.0, 15.5, 6.0, 15.5, 26.0]]
    assert person.keypoints == [6, 7, 2, 8, 9, 1, 0, 0, 0]
    assert person.area == 1.0  # the stored area, not the box's or the polygon's
    assert crowd.class_id == 1 and crowd.iscrowd
    assert (rle_to_mask(crowd.rle) == RLE_MASK).all()
    assert isinstance(compressed.rle["counts"], str)
    assert (rle_to_mask(compressed.rle) == RLE_MASK).all()


def test_write_then_read_gives_the_same_dataset(coco_dir: Path, tmp_path: Path) -> None:
    dataset, _ = read_coco(coco_dir)
    out = write_coco(dataset, tmp_path / "out")
    assert (out / "images/train/a.png").read_bytes() == (coco_dir / "images/a.png").read_bytes()
    document = json.loads((out / "annotations/instances_train.json").read_text())
    assert [c["id"] for c in document["categories"]] == [1, 2]
    assert document["categories"][0]["skeleton"] == [[1, 2], [1, 3]]
    first = document["annotations"][0]
    assert first["bbox"] == [5, 6, 10.5, 20] and first["num_keypoints"] == 2
    assert first["area"] == 1  # the source's own area is kept (it decides COCO size buckets)
    assert document["annotations"][1]["area"] == 100

    again, problems = read_coco(out)
    assert problems == []
    assert [o.area for o in again.images[0].objects] == [1.0, 100.0, 100.0]
    assert again.classes == dataset.classes and again.skeleton == dataset.skeleton
    assert [i.file for i in again.images] == ["train/a.png", "train/b.png"]
    assert [i.objects for i in again.images] == [i.objects for i in dataset.images]


def test_reads_a_single_json_file_and_roboflow_layout(tmp_path: Path, image_writer) -> None:
    image_writer(tmp_path / "flat/pics/a.png", 50, 40)
    write_json(tmp_path / "flat/pics/labels.json", {**COCO, "images": COCO["images"][:1]})
    dataset, problems = read_coco(tmp_path / "flat/pics/labels.json")
    assert problems == [] and dataset.images[0].file == "a.png"
    assert dataset.image_path(dataset.images[0]).is_file()

    for split in ("train", "valid"):
        image_writer(tmp_path / f"rf/{split}/a.png", 50, 40)
        write_json(
            tmp_path / f"rf/{split}/_annotations.coco.json", {**COCO, "images": COCO["images"][:1]}
        )
    dataset, problems = read_coco(tmp_path / "rf")
    assert problems == []
    assert [(i.file, i.split) for i in dataset.images] == [
        ("train/a.png", "train"),
        ("valid/a.png", "valid"),
    ]


def test_annotation_file_names_give_splits(tmp_path: Path) -> None:
    assert split_of(Path("instances_val2017.json")) == "val2017"
    assert split_of(Path("person_keypoints_train.json")) == "train"
    assert split_of(Path("instances.json")) == ""
    assert split_of(Path("x/train/_annotations.coco.json")) == "train"
    folder = tmp_path / "both/annotations"
    write_json(folder / "instances_train.json", COCO)
    write_json(folder / "person_keypoints_train.json", COCO)
    write_json(folder / "captions_train.json", {"images": [{"file_name": "a"}], "annotations": []})
    assert [p.name for p in find_coco_files(tmp_path / "both")] == ["instances_train.json"]


def test_unknown_image_and_category_are_reported_with_lines(tmp_path: Path, image_writer) -> None:
    data = json.loads(json.dumps(COCO))
    data["annotations"][0]["image_id"] = 99
    data["annotations"][1]["category_id"] = 5
    text = write_json(tmp_path / "c/annotations/instances_train.json", data)
    image_writer(tmp_path / "c/images/a.png", 50, 40)
    _, problems = read_coco(tmp_path / "c")
    found = {(p.kind, p.file, p.line) for p in problems}
    where = "annotations/instances_train.json"
    # The line where the annotation's object starts: "{" just above its "id".
    assert ("missing-image", where, line_of(text, '"id": 1,', '"annotations"') - 1) in found
    assert ("class-out-of-range", where, line_of(text, '"id": 2,', '"annotations"') - 1) in found


def test_minified_json_still_gives_lines_and_errors_give_json_position(tmp_path: Path) -> None:
    folder = tmp_path / "m/annotations"
    folder.mkdir(parents=True)
    (folder / "instances_val.json").write_text(
        '{"images": [{"id": 1, "file_name": "a.png"}],\n"annotations": [\n{"id": 1 "image_id": 1}]}'
    )
    _, problems = read_coco(tmp_path / "m")
    assert [(p.kind, p.line) for p in problems] == [("broken-file", 3)]
    assert "not valid JSON" in problems[0].message


def test_errors(tmp_path: Path, coco_dir: Path) -> None:
    with pytest.raises(InputNotFoundError):
        read_coco(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputNotFoundError, match="no COCO annotation file"):
        read_coco(tmp_path / "empty")
    dataset, _ = read_coco(coco_dir)
    with pytest.raises(UsageError, match="not empty"):
        write_coco(dataset, coco_dir)


def test_unsplit_dataset_writes_instances_json(tmp_path: Path, image_writer) -> None:
    image_writer(tmp_path / "src/x.png", 20, 10)
    dataset = DetectionDataset(
        images_root=tmp_path / "src",
        classes=("thing",),
        images=[ImageAnnotation("x.png", 20, 10, [ObjectAnnotation((1, 2, 3, 4), 0)])],
    )
    out = write_coco(dataset, tmp_path / "out")
    assert (out / "annotations/instances.json").is_file() and (out / "images/x.png").is_file()
    again, problems = read_coco(out)
    assert (
        problems == []
        and again.images[0].split == ""
        and again.images[0].objects[0].box == (1, 2, 3, 4)
    )


def test_images_in_a_split_folder_of_another_name(tmp_path: Path, image_writer) -> None:
    image_writer(tmp_path / "c/images/train2017/a.png", 50, 40)
    write_json(
        tmp_path / "c/annotations/instances_train.json", {**COCO, "images": COCO["images"][:1]}
    )
    dataset, problems = read_coco(tmp_path / "c")
    assert problems == []
    assert dataset.image_path(dataset.images[0]) == tmp_path / "c/images/train2017/a.png"


def test_area_computed_when_the_source_has_none(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "coco"
    image_writer(root / "images/a.png", 50, 40)
    data = {
        **COCO,
        "annotations": [{k: v for k, v in COCO["annotations"][0].items() if k != "area"}],
    }
    write_json(root / "annotations/instances_train.json", data)
    dataset, problems = read_coco(root)
    assert problems == [] and dataset.images[0].objects[0].area is None
    document = json.loads(
        (write_coco(dataset, tmp_path / "out") / "annotations/instances_train.json").read_text()
    )
    assert document["annotations"][0]["area"] == pytest.approx(0.5 * 10.5 * 20)  # polygon area
