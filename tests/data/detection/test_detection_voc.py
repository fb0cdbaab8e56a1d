"""Pascal VOC XML: reading hand-written files, instance PNG masks, writing and reading back."""

from __future__ import annotations

from pathlib import Path
from xml.parsers.expat import ExpatError

import numpy as np
import pytest
from PIL import Image

from visiona.data.detection.masks import rle_area, rle_to_mask
from visiona.data.detection.voc import parse_xml, read_voc, write_voc

XML = """<annotation>
  <folder>VOC2012</folder>
  <filename>{filename}</filename>
  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>
  <object>
    <name>{first}</name>
    <difficult>0</difficult>
    <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>30</xmax><ymax>40.5</ymax></bndbox>
  </object>
  <object>
    <name>aeroplane</name>
    <difficult>1</difficult>
    <bndbox>
      <xmin>1</xmin>
      <ymin>1</ymin>
      <xmax>5</xmax>
      <ymax>5</ymax>
    </bndbox>
  </object>
</annotation>
"""


def write_voc_dir(root: Path, image_writer) -> Path:
    (root / "Annotations").mkdir(parents=True)
    for stem, first in (("2008_000001", "person"), ("2008_000002", "bicycle")):
        (root / "Annotations" / f"{stem}.xml").write_text(
            XML.format(filename=f"{stem}.jpg", width=60, height=50, first=first)
        )
        image_writer(root / "JPEGImages" / f"{stem}.jpg", 60, 50)
    image_writer(root / "JPEGImages" / "2008_000003.jpg", 30, 30)  # no XML: background
    (root / "ImageSets/Main").mkdir(parents=True)
    (root / "ImageSets/Main/train.txt").write_text("2008_000001\n2008_000003\n")
    (root / "ImageSets/Main/val.txt").write_text("2008_000002\n")
    (root / "ImageSets/Main/trainval.txt").write_text("2008_000001\n2008_000002\n2008_000003\n")
    (root / "ImageSets/Main/person_train.txt").write_text("2008_000001  1\n")  # per-class list
    return root


def test_reads_boxes_difficult_classes_and_splits(tmp_path: Path, image_writer) -> None:
    root = write_voc_dir(tmp_path / "VOC2012", image_writer)
    dataset, problems = read_voc(root)
    # Pascal VOC's own names keep VOC's alphabetical order (first appearance: person first).
    assert dataset.classes == ("aeroplane", "bicycle", "person")
    assert [(p.kind, p.level) for p in problems] == [("class-order", "warning")]
    assert "aeroplane, bicycle, person" in problems[0].message
    assert dataset.images_root == root / "JPEGImages"
    first, second, background = dataset.images
    assert (first.file, first.split, first.width, first.height) == (
        "2008_000001.jpg",
        "train",
        60,
        50,
    )
    assert (second.split, background.split, background.objects) == ("val", "train", [])
    person, plane = first.objects
    assert person.box == (10, 20, 30, 40.5)  # 1-based inclusive -> xyxy
    assert (person.class_id, person.iscrowd, person.line) == (2, False, 8)
    assert (plane.class_id, plane.iscrowd, plane.line) == (0, True, 13)  # difficult


def test_vocdevkit_folder_and_classes_txt_order(tmp_path: Path, image_writer) -> None:
    root = write_voc_dir(tmp_path / "VOCdevkit/VOC2012", image_writer)
    (root / "classes.txt").write_text("person\naeroplane\n")
    dataset, problems = read_voc(tmp_path / "VOCdevkit")
    assert dataset.classes == ("person", "aeroplane", "bicycle")
    assert [(p.file, p.kind, p.level) for p in problems] == [
        ("classes.txt", "class-mismatch", "warning")
    ]


def test_without_a_class_list_ids_follow_first_appearance(tmp_path: Path, image_writer) -> None:
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    for stem, names in (("a", ("zebra", "apple")), ("b", ("mango", "zebra"))):
        objects = "".join(
            f"<object><name>{n}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>"
            "<ymax>5</ymax></bndbox></object>"
            for n in names
        )
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><filename>{stem}.png</filename><size><width>8</width>"
            f"<height>8</height></size>{objects}</annotation>"
        )
        image_writer(root / "JPEGImages" / f"{stem}.png", 8, 8)
    dataset, problems = read_voc(root)
    assert problems == []  # nothing sorted, nothing to say
    assert dataset.classes == ("zebra", "apple", "mango")
    assert [o.class_id for o in dataset.images[0].objects] == [0, 1]
    assert [o.class_id for o in dataset.images[1].objects] == [2, 0]


def test_segmentation_object_pngs_become_masks(tmp_path: Path, image_writer) -> None:
    root = write_voc_dir(tmp_path / "voc", image_writer)
    ids = np.zeros((50, 60), dtype=np.uint8)
    ids[20:40, 10:30] = 1
    ids[0:5, 0:5] = 2
    ids[19, :] = 255
    (root / "SegmentationObject").mkdir()
    Image.fromarray(ids).save(root / "SegmentationObject/2008_000001.png")
    dataset, problems = read_voc(root)
    assert [p.kind for p in problems] == ["class-order"]
    person, plane = dataset.images[0].objects
    assert rle_area(person.rle) == 400 and rle_area(plane.rle) == 25
    assert (rle_to_mask(person.rle) == (ids == 1)).all()


def test_write_then_read_round_trips(tmp_path: Path, image_writer) -> None:
    root = write_voc_dir(tmp_path / "voc", image_writer)
    dataset, _ = read_voc(root)
    out = write_voc(dataset, tmp_path / "out")
    assert (out / "ImageSets/Main/train.txt").read_text() == "2008_000001\n2008_000003\n"
    assert (out / "ImageSets/Main/trainval.txt").is_file()
    assert (out / "classes.txt").read_text() == "aeroplane\nbicycle\nperson\n"
    again, problems = read_voc(out)
    assert problems == []
    assert again.classes == dataset.classes
    assert [(i.file, i.split) for i in again.images] == [(i.file, i.split) for i in dataset.images]
    first = again.images[0].objects
    assert first[0].box == (10, 20, 30, 40)  # rounded to whole pixels (40.5 -> 40)
    assert first[1].iscrowd


def test_parse_xml_keeps_lines_and_refuses_external_entities() -> None:
    node = parse_xml(b"<a>\n  <b>x</b>\n  <b>y</b>\n</a>")
    assert [(c.tag, c.line, c.text) for c in node.findall("b")] == [("b", 2, "x"), ("b", 3, "y")]
    evil = b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    with pytest.raises(ExpatError, match="error in processing external entity reference"):
        parse_xml(evil)  # expat refuses the external entity: /etc/passwd is never read
