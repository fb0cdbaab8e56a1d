"""YOLO label ``.txt`` files: one object per line, values normalised to 0-1.

- box: ``class cx cy w h``
- polygon (segmentation): ``class x1 y1 x2 y2 x3 y3 ...``; the box is the polygon's bounds
- keypoints, with ``kpt_shape: [K, D]``: ``class cx cy w h`` then K points of ``px py`` (D = 2)
  or ``px py v`` (D = 3, COCO visibility)
"""

from __future__ import annotations

import math
from pathlib import Path

from visiona.data.detection.annotations import ObjectAnnotation, Problem, polygon_bounds


def read_label_file(
    label: Path,
    where: str,
    width: int,
    height: int,
    kpt: tuple[int, int] | None,
    problems: list[Problem],
) -> list[ObjectAnnotation]:
    try:
        text = label.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(where, None, f"cannot read ({error})", kind="broken-file"))
        return []
    objects: list[ObjectAnnotation] = []
    seen: dict[str, int] = {}
    box_lines: list[int] = []
    polygon_lines = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        tokens = line.split()
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            problems.append(Problem(where, number, f"{bad!r} is not a number", kind="broken-line"))
            continue
        if not all(math.isfinite(v) for v in values):
            problems.append(
                Problem(where, number, "values must be finite numbers", kind="broken-line")
            )
            continue
        if not values[0].is_integer():
            problems.append(
                Problem(where, number, f"class {tokens[0]!r} is not an integer", kind="broken-line")
            )
            continue
        normalised = " ".join(tokens)
        if normalised in seen:
            problems.append(
                Problem(
                    where,
                    number,
                    f"duplicate of line {seen[normalised]}",
                    level="warning",
                    kind="duplicate-label",
                )
            )
        seen.setdefault(normalised, number)
        obj = _parse_values(values, width, height, kpt, where, number, problems)
        if obj is None:
            continue
        if obj.polygons and not kpt:
            polygon_lines += 1
        else:
            box_lines.append(number)
        objects.append(obj)
    if polygon_lines and box_lines and not kpt:
        for number in box_lines:
            problems.append(
                Problem(
                    where,
                    number,
                    "box line in a file of polygon lines (ultralytics reads every line as a polygon)",
                    level="warning",
                    kind="mixed-format",
                )
            )
    return objects


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_values(
    values: list[float],
    width: int,
    height: int,
    kpt: tuple[int, int] | None,
    where: str,
    number: int,
    problems: list[Problem],
) -> ObjectAnnotation | None:
    class_id = int(values[0])
    count = len(values)
    if kpt:
        k, dims = kpt
        expected = 5 + k * dims
        if count != expected:
            problems.append(
                Problem(
                    where,
                    number,
                    f"expected {expected} values (class, cx cy w h, {k} keypoints × {dims}), "
                    f"found {count}",
                    kind="broken-line",
                )
            )
            return None
        keypoints: list[float] = []
        for i in range(k):
            chunk = values[5 + i * dims : 5 + (i + 1) * dims]
            x, y = chunk[0] * width, chunk[1] * height
            # Without a visibility column, (0, 0) marks a keypoint that is not labelled.
            v = chunk[2] if dims == 3 else 0.0 if chunk[0] == 0 and chunk[1] == 0 else 2.0
            keypoints.extend((x, y, v))
        return ObjectAnnotation(
            _box(values[1:5], width, height), class_id, keypoints=keypoints, line=number
        )
    if count == 5:
        return ObjectAnnotation(_box(values[1:5], width, height), class_id, line=number)
    if count >= 7 and count % 2 == 1:
        points = values[1:]
        polygon = [v * (width if i % 2 == 0 else height) for i, v in enumerate(points)]
        box = polygon_bounds([polygon])
        assert box is not None
        return ObjectAnnotation(box, class_id, polygons=[polygon], line=number)
    problems.append(
        Problem(
            where,
            number,
            f"expected 5 values (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...), "
            f"found {count}",
            kind="broken-line",
        )
    )
    return None


def _box(cxcywh: list[float], width: int, height: int) -> tuple[float, float, float, float]:
    cx, cy, w, h = cxcywh
    return (
        (cx - w / 2) * width,
        (cy - h / 2) * height,
        (cx + w / 2) * width,
        (cy + h / 2) * height,
    )
