"""Instance masks: COCO RLE (both encodings), polygons, and instance-id PNG files.

Everything here is pure numpy (no pycocotools, no OpenCV):

- RLE: COCO's run-length encoding of a column-major ``(H, W)`` mask, starting with a run of 0s.
  ``counts`` is either a list of run lengths (uncompressed, as in COCO's ``iscrowd`` annotations)
  or COCO's compressed string (6 bits per character, the format pycocotools writes); both decode
  here, identically to pycocotools.
- Polygons: ``[x1, y1, x2, y2, ...]`` in absolute pixel coordinates where pixel ``(col, row)``
  covers ``[col, col + 1) × [row, row + 1)``. :func:`polygons_to_mask` fills the pixels whose
  centre lies inside (even-odd rule per polygon, union over polygons);
  :func:`mask_to_polygons` traces the outline along pixel edges, so
  ``polygons_to_mask(mask_to_polygons(m))`` gives ``m`` back exactly (holes excepted: COCO
  polygons cannot express them; the tracer reports how many it dropped).
- PNG instance masks: one integer id per pixel, 0 background (``SegmentationObject`` of Pascal
  VOC, or any 8/16-bit PNG), see :func:`masks_from_png`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from visiona.data.detection.annotations import DetectionDataset, Problem

VOID_8BIT = 255
"""Pascal VOC marks object borders / "don't care" pixels with 255 in 8-bit instance PNGs."""


# --------------------------------------------------------------------------------------------
# RLE
# --------------------------------------------------------------------------------------------


def encode_rle_string(counts: Sequence[int]) -> str:
    """COCO's compressed RLE string of uncompressed run lengths (pycocotools ``rleToString``)."""
    chars: list[str] = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def decode_rle_string(text: str | bytes) -> list[int]:
    """Run lengths of a COCO compressed RLE string (pycocotools ``rleFrString``).

    Raises:
        ValueError: The string holds characters outside COCO's alphabet or ends mid-number.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii")
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = 0
        k = 0
        more = True
        while more:
            if p >= len(text):
                raise ValueError("compressed RLE string ends in the middle of a number")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {text[p]!r} is not valid in a compressed RLE")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_counts(rle: Mapping[str, Any]) -> list[int]:
    """Uncompressed run lengths of an RLE whose ``counts`` is a list or a compressed string.

    Raises:
        ValueError: ``counts`` is malformed (negative runs, wrong total, not a list or string).
    """
    try:
        height, width = (int(v) for v in rle["size"])
        raw = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("an RLE needs 'size': [height, width] and 'counts'") from None
    if isinstance(raw, str | bytes):
        counts = decode_rle_string(raw)
    elif isinstance(raw, list | tuple):
        try:
            counts = [int(v) for v in raw]
        except (TypeError, ValueError):
            raise ValueError("RLE counts must be integers") from None
    else:
        raise ValueError(f"RLE counts must be a list or a string, not {type(raw).__name__}")
    if any(v < 0 for v in counts):
        raise ValueError("RLE counts must not be negative")
    if sum(counts) != height * width:
        raise ValueError(f"RLE covers {sum(counts)} pixels, but its size is {height}×{width}")
    return counts


def mask_to_rle(mask: np.ndarray, *, compressed: bool = False) -> dict[str, Any]:
    """COCO RLE of a ``(H, W)`` boolean mask (column-major runs, 0s first).

    Args:
        mask: The mask.
        compressed: Return ``counts`` as COCO's compressed string instead of a list.
    """
    import numpy as np

    mask = np.asarray(mask, dtype=bool)
    flat = mask.reshape(-1, order="F")
    if flat.size == 0:
        counts: list[int] = [0]
    else:
        changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        bounds = np.concatenate([[0], changes, [flat.size]])
        counts = np.diff(bounds).tolist()
        if flat[0]:
            counts = [0, *counts]
    size = [int(mask.shape[0]), int(mask.shape[1])]
    return {"size": size, "counts": encode_rle_string(counts) if compressed else counts}


def rle_to_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """The ``(H, W)`` boolean mask of an RLE (list or compressed counts)."""
    import numpy as np

    counts = rle_counts(rle)
    height, width = (int(v) for v in rle["size"])
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    return np.repeat(values, counts).reshape((height, width), order="F")


def rle_area(rle: Mapping[str, Any]) -> int:
    """Pixels in an RLE mask."""
    return int(sum(rle_counts(rle)[1::2]))


def rle_bounds(rle: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """Tight xyxy box (pixel edges) around an RLE mask, None when it is empty."""
    import numpy as np

    mask = rle_to_mask(rle)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def compress_rle(rle: Mapping[str, Any]) -> dict[str, Any]:
    """The same RLE with ``counts`` as a compressed string."""
    return {"size": [int(v) for v in rle["size"]], "counts": encode_rle_string(rle_counts(rle))}


def uncompress_rle(rle: Mapping[str, Any]) -> dict[str, Any]:
    """The same RLE with ``counts`` as a list of run lengths."""
    return {"size": [int(v) for v in rle["size"]], "counts": rle_counts(rle)}


# --------------------------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------------------------


def polygon_area(polygon: Sequence[float]) -> float:
    """Area enclosed by one polygon ``[x1, y1, x2, y2, ...]`` (shoelace, absolute value)."""
    xs = polygon[0::2]
    ys = polygon[1::2]
    n = min(len(xs), len(ys))
    total = 0.0
    for i in range(n):
        j = (i + 1) % n
        total += xs[i] * ys[j] - xs[j] * ys[i]
    return abs(total) / 2.0


def polygons_to_mask(polygons: Iterable[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Rasterise polygons: pixels whose centre is inside any polygon (even-odd per polygon).

    Args:
        polygons: Polygons ``[x1, y1, x2, y2, ...]`` in absolute pixels (3+ points each).
        height: Mask height in pixels.
        width: Mask width in pixels.

    Returns:
        A ``(height, width)`` boolean mask.
    """
    import numpy as np

    mask = np.zeros((height, width), dtype=bool)
    for polygon in polygons:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        if len(points) < 3:
            continue
        x0, y0 = points[:, 0], points[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        parity = np.zeros((height, width + 1), dtype=np.int32)
        for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
            if ay == by:
                continue
            low, high = min(ay, by), max(ay, by)
            # Rows whose centre r + 0.5 satisfies low <= r + 0.5 < high.
            first = max(int(np.ceil(low - 0.5)), 0)
            last = min(int(np.ceil(high - 0.5)) - 1, height - 1)
            if last < first:
                continue
            rows = np.arange(first, last + 1)
            xs = ax + (rows + 0.5 - ay) * (bx - ax) / (by - ay)
            # First pixel whose centre lies right of the crossing.
            cols = np.clip(np.ceil(xs - 0.5).astype(np.int64), 0, width)
            np.add.at(parity, (rows, cols), 1)
        mask |= (np.cumsum(parity, axis=1)[:, :width] % 2).astype(bool)
    return mask


# Directions along pixel edges: east, south, west, north (image coordinates, y down).
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


def mask_to_polygons(mask: np.ndarray) -> tuple[list[list[float]], int]:
    """Trace a mask's outlines along pixel edges.

    Foreground pixels touching only diagonally become separate polygons (4-connectivity).
    Collinear vertices are dropped, so a rectangle gives 4 points.

    Args:
        mask: ``(H, W)`` boolean mask.

    Returns:
        ``(polygons, holes)``: the outer outlines (``[x1, y1, ...]`` in pixel-edge coordinates,
        largest first) and the number of holes left out (polygons cannot subtract).
    """
    import numpy as np

    fg = np.asarray(mask, dtype=bool)
    if not fg.any():
        return [], 0
    padded = np.pad(fg, 1)
    inner = padded[1:-1, 1:-1]
    # Edges with the foreground on their right, keyed by (x, y, direction) of their start.
    edges: set[tuple[int, int, int]] = set()
    for direction, neighbour, (dx, dy) in (
        (0, padded[:-2, 1:-1], (0, 0)),  # top edge, walking east from the top-left corner
        (1, padded[1:-1, 2:], (1, 0)),  # right edge, walking south from the top-right corner
        (2, padded[2:, 1:-1], (1, 1)),  # bottom edge, walking west from the bottom-right corner
        (3, padded[1:-1, :-2], (0, 1)),  # left edge, walking north from the bottom-left corner
    ):
        rows, cols = np.nonzero(inner & ~neighbour)
        xs, ys = (cols + dx).tolist(), (rows + dy).tolist()
        edges.update((x, y, direction) for x, y in zip(xs, ys, strict=True))

    outlines: list[tuple[float, list[float]]] = []
    holes = 0
    remaining = set(edges)
    while remaining:
        start = min(remaining)  # deterministic order
        x, y, direction = start
        points: list[tuple[int, int]] = []
        edge = start
        previous = -1
        while True:
            remaining.discard(edge)
            x, y, direction = edge
            if not points or direction != previous:
                points.append((x, y))
            previous = direction
            sx, sy = _STEPS[direction]
            nx, ny = x + sx, y + sy
            for turn in (1, 0, 3):  # right, straight, left: hug the current pixel
                candidate = (nx, ny, (direction + turn) % 4)
                if candidate in edges:
                    edge = candidate
                    break
            else:  # pragma: no cover - outlines of a pixel set always close
                break
            if edge == start:
                break
        # The first vertex is redundant when the loop closes in the same direction it started.
        if len(points) > 1 and previous == start[2]:
            points = points[1:]
        flat = [float(v) for point in points for v in point]
        signed = _signed_area(flat)
        if signed > 0:
            outlines.append((signed, flat))
        else:
            holes += 1
    outlines.sort(key=lambda item: -item[0])
    return [flat for _, flat in outlines], holes


def _signed_area(polygon: Sequence[float]) -> float:
    xs = polygon[0::2]
    ys = polygon[1::2]
    n = len(xs)
    return sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n)) / 2.0


def merge_polygons(polygons: Sequence[Sequence[float]]) -> list[float]:
    """Join several polygons into one outline with zero-width bridges (YOLO holds one per line).

    The parts are visited in order and connected from each part's first point back to the
    previous one's, so the filled area is the union of the parts (the bridges have no area).
    """
    if len(polygons) == 1:
        return list(polygons[0])
    merged: list[float] = []
    anchors: list[tuple[float, float]] = []
    for polygon in polygons:
        points = list(polygon)
        merged.extend(points)
        merged.extend(points[:2])  # back to the part's first point
        anchors.append((points[0], points[1]))
    for x, y in reversed(anchors[:-1]):
        merged.extend((x, y))
    return merged


# --------------------------------------------------------------------------------------------
# Instance-id PNG files
# --------------------------------------------------------------------------------------------


def read_instance_png(
    path: str | os.PathLike[str], *, void: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Per-instance boolean masks of a PNG holding one integer id per pixel.

    Args:
        path: An 8-bit (``L`` or palette ``P``: the palette index is the id) or 16/32-bit
            integer PNG. 0 is background.
        void: Ids that are not objects; default: ``{255}`` for 8-bit images (VOC's border
            colour), nothing for deeper images.

    Returns:
        ``{instance id: (H, W) bool mask}`` in ascending id order.

    Raises:
        ValueError: The image is RGB(A) (colours are not ids) or not readable.
    """
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "HSV", "1"):
                raise ValueError(
                    f"instance masks must hold one integer id per pixel (mode L, P, I;16 or I), "
                    f"not mode {mode}"
                )
            ids = np.asarray(image)
    except OSError as error:
        raise ValueError(f"not a readable PNG ({error})") from None
    eight_bit = ids.dtype == np.uint8
    skip = set(void) if void is not None else ({VOID_8BIT} if eight_bit else set())
    found = [int(v) for v in np.unique(ids) if v != 0 and int(v) not in skip]
    return {value: ids == value for value in found}


def masks_from_png(
    path: str | os.PathLike[str],
    *,
    as_polygons: bool = False,
    void: Iterable[int] | None = None,
) -> list[Any]:
    """Instance masks of an instance-id PNG, in ascending id order.

    Args:
        path: PNG with one integer id per pixel (0 background; see :func:`read_instance_png`).
        as_polygons: Return each instance as polygons (``[[x1, y1, ...], ...]``, absolute
            pixels, holes dropped) instead of an uncompressed COCO RLE dict.
        void: Ids to ignore (default: 255 for 8-bit images).

    Returns:
        One entry per instance id found, smallest id first.
    """
    masks = read_instance_png(path, void=void)
    if as_polygons:
        return [mask_to_polygons(mask)[0] for mask in masks.values()]
    return [mask_to_rle(mask) for mask in masks.values()]


def voc_palette() -> list[int]:
    """Pascal VOC's 256-colour palette (flat RGB list) for instance and class PNGs."""
    palette: list[int] = []
    for index in range(256):
        r = g = b = 0
        value = index
        for shift in range(7, -1, -1):
            r |= ((value >> 0) & 1) << shift
            g |= ((value >> 1) & 1) << shift
            b |= ((value >> 2) & 1) << shift
            value >>= 3
        palette.extend((r, g, b))
    return palette


def write_instance_png(
    path: Path, masks: Sequence[np.ndarray | None], height: int, width: int
) -> None:
    """Write masks as one instance-id PNG: object ``k`` (0-based) gets id ``k + 1``.

    Later objects paint over earlier ones where they overlap. Up to 254 objects give an 8-bit
    palette PNG (VOC's ``SegmentationObject`` style); more give a 16-bit grayscale PNG.
    """
    import numpy as np
    from PIL import Image

    dtype = np.uint8 if len(masks) < VOID_8BIT else np.uint16
    ids = np.zeros((height, width), dtype=dtype)
    for index, mask in enumerate(masks):
        if mask is not None:
            ids[mask] = index + 1
    if dtype == np.uint8:
        image = Image.fromarray(ids)
        image.putpalette(voc_palette())  # an L image with a palette becomes a P image
    else:
        image = Image.fromarray(ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def object_mask(obj: Any, height: int, width: int) -> np.ndarray | None:
    """The boolean mask of an :class:`ObjectAnnotation` (RLE first, else polygons), or None."""
    if obj.rle is not None:
        return rle_to_mask(obj.rle)
    if obj.polygons:
        return polygons_to_mask(obj.polygons, height, width)
    return None


def object_polygons(obj: Any) -> tuple[list[list[float]] | None, int]:
    """An object's mask as polygons (tracing its RLE when it has no polygons) and holes lost."""
    if obj.polygons:
        return obj.polygons, 0
    if obj.rle is not None:
        polygons, holes = mask_to_polygons(rle_to_mask(obj.rle))
        return polygons or None, holes
    return None, 0


def attach_png_masks(
    dataset: DetectionDataset,
    masks_dir: str | os.PathLike[str],
    *,
    void: Iterable[int] | None = None,
) -> list[Problem]:
    """Give each object the mask of its instance id from ``masks_dir/<image stem>.png``.

    Instance id ``k`` belongs to the image's ``k``-th object (1-based, the VOC
    ``SegmentationObject`` convention). Images without a PNG keep their objects unchanged.

    Returns:
        Problems: unreadable PNGs, size mismatches, ids without an object and objects without an id.
    """
    from visiona.data.detection.annotations import Problem, relative

    masks_dir = Path(masks_dir)
    root = dataset.root or dataset.images_root
    problems: list[Problem] = []
    for image in dataset.images:
        path = masks_dir / (Path(image.name).with_suffix(".png").as_posix())
        if not path.is_file():
            path = masks_dir / (Path(image.file).stem + ".png")
            if not path.is_file():
                continue
        where = relative(path, root)
        try:
            masks = read_instance_png(path, void=void)
        except ValueError as error:
            problems.append(Problem(where, None, str(error), kind="broken-mask"))
            continue
        for instance_id, mask in masks.items():
            if image.width and image.height and mask.shape != (image.height, image.width):
                problems.append(
                    Problem(
                        where,
                        None,
                        f"mask is {mask.shape[1]}×{mask.shape[0]} but the image is "
                        f"{image.width}×{image.height}",
                        kind="size-mismatch",
                    )
                )
                break
            if instance_id > len(image.objects):
                problems.append(
                    Problem(
                        where,
                        None,
                        f"instance id {instance_id} has no object ({len(image.objects)} labelled)",
                        level="warning",
                        kind="mask-without-object",
                    )
                )
                continue
            image.objects[instance_id - 1].rle = mask_to_rle(mask)
    return problems
