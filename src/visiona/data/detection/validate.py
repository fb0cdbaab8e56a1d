"""Problems visible in a detection data set's annotations alone (no image is opened).

Used by ``visiona data check`` and by ``visiona data convert`` (which refuses to write what it
could not read back).
"""

from __future__ import annotations

from visiona.data.detection.annotations import DetectionDataset, Problem

TOLERANCE_PX = 0.5
"""How far (pixels) a box may reach beyond the image before it is out of bounds."""


def _fmt_box(box: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in (round(b, 2) for b in box)) + ")"


def validate_dataset(dataset: DetectionDataset) -> list[Problem]:
    """Problems visible in the annotations alone: class ids, boxes, keypoints, polygons, masks.

    Args:
        dataset: A data set as read (boxes xyxy absolute pixels).

    Returns:
        One :class:`Problem` per finding, with the label file and the object's line.
    """
    problems: list[Problem] = []
    num_classes = len(dataset.classes)
    yolo = dataset.source_format == "yolo"
    for image in dataset.images:
        where = image.label_file or image.file
        width, height = image.width, image.height
        for obj in image.objects:
            line = obj.line

            def add(
                message: str,
                kind: str,
                level: str = "error",
                line: int | None = line,
                where: str = where,
            ) -> None:
                problems.append(Problem(where, line, message, level=level, kind=kind))  # type: ignore[arg-type]

            if not 0 <= obj.class_id < num_classes:
                span = f"0-{num_classes - 1}" if num_classes else "none defined"
                add(
                    f"class id {obj.class_id} out of range ({num_classes} classes: {span})",
                    "class-out-of-range",
                )
            x0, y0, x1, y1 = obj.box
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                which = "width" if x1 - x0 <= 0 else "height"
                add(
                    f"degenerate box {_fmt_box(obj.box)}: zero or negative {which}",
                    "degenerate-box",
                )
                continue
            if not (width and height):
                continue
            if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
                add(
                    f"box {_fmt_box(obj.box)} lies entirely outside the image ({width}×{height})",
                    "out-of-bounds",
                )
            elif (
                x0 < -TOLERANCE_PX
                or y0 < -TOLERANCE_PX
                or x1 > width + TOLERANCE_PX
                or y1 > height + TOLERANCE_PX
            ):
                hint = " (YOLO values are fractions 0-1 of the image size)" if yolo else ""
                add(
                    f"box {_fmt_box(obj.box)} extends outside the image ({width}×{height}){hint}",
                    "out-of-bounds",
                )
            if obj.keypoints:
                for index in range(len(obj.keypoints) // 3):
                    x, y, v = obj.keypoints[3 * index : 3 * index + 3]
                    if v > 0 and not (
                        -TOLERANCE_PX <= x <= width + TOLERANCE_PX
                        and -TOLERANCE_PX <= y <= height + TOLERANCE_PX
                    ):
                        add(
                            f"keypoint {index} at ({x:g}, {y:g}) is outside the image",
                            "keypoint-out-of-bounds",
                            "warning",
                        )
                        break
            if obj.polygons:
                points = [(p[i], p[i + 1]) for p in obj.polygons for i in range(0, len(p) - 1, 2)]
                if any(
                    not (-TOLERANCE_PX <= x <= width + TOLERANCE_PX)
                    or not (-TOLERANCE_PX <= y <= height + TOLERANCE_PX)
                    for x, y in points
                ):
                    add("polygon extends outside the image", "polygon-out-of-bounds", "warning")
            if obj.rle is not None:
                size = list(obj.rle.get("size", []))
                if size != [height, width]:
                    add(
                        f"RLE size {size} differs from the image [{height}, {width}]",
                        "size-mismatch",
                    )
    return problems
