"""Writing a :class:`DetectionDataset` as Pascal VOC: XML files, copied images, split lists.

Layout: ``Annotations/<id>.xml``, ``JPEGImages/<id>.<ext>``, ``ImageSets/Main/<split>.txt``,
``SegmentationObject/<id>.png`` for masks and ``classes.txt`` (class-id order). Boxes are written
as VOC's 1-based inclusive pixel indices, rounded to whole pixels.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape

from visiona.data.detection import _write
from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, Problem
from visiona.data.detection.masks import object_mask, write_instance_png


def _xml(
    image_id: str,
    file_name: str,
    image: ImageAnnotation,
    dataset: DetectionDataset,
    segmented: bool,
) -> str:
    lines = [
        "<annotation>",
        "  <folder>JPEGImages</folder>",
        f"  <filename>{escape(file_name)}</filename>",
        "  <source><database>visiona</database></source>",
        "  <size>",
        f"    <width>{image.width}</width>",
        f"    <height>{image.height}</height>",
        "    <depth>3</depth>",
        "  </size>",
        f"  <segmented>{int(segmented)}</segmented>",
    ]
    for obj in image.objects:
        if not _write.class_in_range(dataset, obj.class_id):
            continue
        x0, y0, x1, y1 = obj.box
        xmin, ymin = round(x0) + 1, round(y0) + 1
        xmax, ymax = max(round(x1), xmin), max(round(y1), ymin)
        lines += [
            "  <object>",
            f"    <name>{escape(dataset.classes[obj.class_id])}</name>",
            "    <pose>Unspecified</pose>",
            "    <truncated>0</truncated>",
            f"    <difficult>{int(obj.iscrowd)}</difficult>",
            "    <bndbox>",
            f"      <xmin>{xmin}</xmin>",
            f"      <ymin>{ymin}</ymin>",
            f"      <xmax>{xmax}</xmax>",
            f"      <ymax>{ymax}</ymax>",
            "    </bndbox>",
            "  </object>",
        ]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def write_voc(
    dataset: DetectionDataset,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    problems: list[Problem] | None = None,
) -> Path:
    """Write ``dataset`` as Pascal VOC (see the module docs for the layout).

    Image ids are the image names without folders (``train/a/b.jpg`` → ``a_b``), made unique with
    ``_1``, ``_2``...; splits go to ``ImageSets/Main/<split>.txt``; masks (polygons or RLE) to
    ``SegmentationObject/<id>.png``. Boxes are rounded to whole pixels. Keypoints are dropped.

    Args:
        dataset: What to write (boxes xyxy absolute pixels).
        out_dir: New or empty folder (or any folder with ``overwrite``).
        overwrite: Write into a non-empty folder, replacing files of the same name.
        problems: When given, notes about skipped images and lost data are appended to it.

    Returns:
        ``out_dir``.

    Raises:
        UsageError: ``out_dir`` is a file, or not empty without ``overwrite``.
    """
    out_dir = _write.prepare_out_dir(out_dir, overwrite=overwrite)
    names = _write.UniqueNames()
    split_ids: dict[str, list[str]] = {}
    keypoints = 0
    for folder in ("Annotations", "JPEGImages"):
        (out_dir / folder).mkdir(exist_ok=True)
    for image in _write.usable_images(dataset, problems, need_size=True):
        flat = PurePosixPath(image.name).as_posix().replace("/", "_")
        file_name = names.claim(PurePosixPath(flat)).name
        image_id = PurePosixPath(file_name).stem
        _write.copy_image(dataset.image_path(image), out_dir / "JPEGImages" / file_name)
        for obj in image.objects:
            if not _write.class_in_range(dataset, obj.class_id):
                _write.note(
                    problems, image.file, f"class id {obj.class_id} out of range; object skipped",
                    "class-out-of-range",
                )  # fmt: skip
            keypoints += obj.keypoints is not None
        objects = [o for o in image.objects if _write.class_in_range(dataset, o.class_id)]
        segmented = any(o.has_mask for o in objects)
        if segmented:
            masks = [object_mask(o, image.height, image.width) for o in objects]
            write_instance_png(
                out_dir / "SegmentationObject" / f"{image_id}.png", masks, image.height, image.width
            )
        text = _xml(image_id, file_name, image, dataset, segmented)
        (out_dir / "Annotations" / f"{image_id}.xml").write_text(text, encoding="utf-8")
        if image.split:
            split_ids.setdefault(image.split, []).append(image_id)
    if keypoints:
        _write.note(
            problems,
            ".",
            f"keypoints of {keypoints} objects not written (VOC has none)",
            "lost-data",
        )
    if split_ids:
        main = out_dir / "ImageSets" / "Main"
        main.mkdir(parents=True, exist_ok=True)
        if "train" in split_ids and "val" in split_ids and "trainval" not in split_ids:
            split_ids["trainval"] = split_ids["train"] + split_ids["val"]
        for split, ids in split_ids.items():
            (main / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    (out_dir / "classes.txt").write_text(
        "".join(f"{n}\n" for n in dataset.classes), encoding="utf-8"
    )
    return out_dir
