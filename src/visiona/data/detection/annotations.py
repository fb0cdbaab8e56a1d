"""The in-memory model every detection format reads into and writes from.

One :class:`DetectionDataset` holds the class names, an images root and one
:class:`ImageAnnotation` per image, each with its :class:`ObjectAnnotation` list. Boxes are always
``xyxy`` in absolute pixels of the image as displayed (EXIF orientation applied), with the
continuous-coordinate convention of COCO and torchvision: pixel column ``i`` covers ``[i, i + 1)``,
so a box around pixels 10..19 is ``(10, y0, 20, y1)``. Polygons use the same coordinates; RLE
masks are COCO run-length encodings of the image-sized mask.

Readers report bad input as :class:`Problem` entries (file relative to the dataset root, 1-based
line number where one exists) instead of raising, so one broken label file never hides the rest.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from visiona.errors import ImageLoadError

FORMATS = ("coco", "yolo", "voc")
"""Label formats visiona reads and writes."""

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".jpe", ".jfif"}
)
"""File suffixes (lower case) treated as images when scanning folders."""

SPLIT_NAMES = ("train", "val", "test")
"""The usual split names, in the order they are written."""

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data set, reported with where it is.

    Attributes:
        file: The file at fault, relative to the data set root (``labels/train/a.txt``), or the
            root itself (``.``) for problems of the whole data set.
        line: 1-based line number in ``file``, or None when the problem has no line.
        message: What is wrong, in one line.
        level: ``"error"`` (the label is wrong or unusable) or ``"warning"`` (suspicious, usable).
        kind: Short machine-readable category, e.g. ``"out-of-bounds"``, ``"broken-line"``.
    """

    file: str
    line: int | None
    message: str
    level: Level = "error"
    kind: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        prefix = "" if self.level == "error" else f"{self.level}: "
        return f"{where}: {prefix}{self.message}"


@dataclass
class ObjectAnnotation:
    """One labelled object.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in absolute pixels (xyxy); may be out of bounds or degenerate
            when the source says so (``visiona data check`` reports it).
        class_id: Index into :attr:`DetectionDataset.classes` (contiguous, from 0).
        polygons: Instance mask as polygons, each ``[x1, y1, x2, y2, ...]`` in absolute pixels;
            several polygons are one object in several parts (their union).
        rle: Instance mask as COCO RLE ``{"size": [height, width], "counts": ...}`` with counts
            either a list of run lengths (uncompressed) or a COCO compressed string.
        keypoints: Flat ``[x1, y1, v1, x2, y2, v2, ...]`` in absolute pixels; ``v`` is COCO's
            visibility (0 not labelled, 1 labelled but hidden, 2 visible).
        iscrowd: COCO ``iscrowd`` (a crowd region) or VOC ``difficult``: objects that evaluation
            ignores rather than counts.
        line: Line of the label file the object was read from (1-based), when known.
        area: The object's area in square pixels as the source stores it (COCO ``area``: the
            segment's area, not the box's); COCO evaluation takes small / medium / large from
            it. None when the source has none (then the mask or box area is used).
    """

    box: tuple[float, float, float, float]
    class_id: int
    polygons: list[list[float]] | None = None
    rle: dict[str, Any] | None = None
    keypoints: list[float] | None = None
    iscrowd: bool = False
    line: int | None = field(default=None, compare=False)
    area: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        box = tuple(float(v) for v in self.box)
        if len(box) != 4:
            raise ValueError(f"a box needs 4 values (x0, y0, x1, y1), got {len(box)}")
        self.box = box  # type: ignore[assignment]
        self.class_id = int(self.class_id)
        self.iscrowd = bool(self.iscrowd)
        if self.area is not None:
            self.area = float(self.area)

    @property
    def width(self) -> float:
        """Box width in pixels (negative for an inverted box)."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """Box height in pixels (negative for an inverted box)."""
        return self.box[3] - self.box[1]

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        """The box as COCO ``(x, y, width, height)`` in absolute pixels."""
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1 - x0, y1 - y0)

    @property
    def has_mask(self) -> bool:
        """True when the object carries polygons or an RLE mask."""
        return bool(self.polygons) or self.rle is not None


@dataclass
class ImageAnnotation:
    """One image and its objects.

    Attributes:
        file: Path of the image relative to :attr:`DetectionDataset.images_root`, with ``/``
            separators (``train/0001.jpg``).
        width: Image width in pixels (EXIF orientation applied); 0 when unknown.
        height: Image height in pixels; 0 when unknown.
        objects: The labelled objects; empty for a background image.
        split: ``train``, ``val``, ``test`` (or another name the source uses), ``""`` for none.
        label_file: The label file this image's objects came from, relative to the data set
            root (``labels/train/0001.txt``, ``Annotations/0001.xml``), when there is one.
        line: Line in ``label_file`` describing the image itself (COCO ``images`` entry).
    """

    file: str
    width: int
    height: int
    objects: list[ObjectAnnotation] = field(default_factory=list)
    split: str = ""
    label_file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``file`` without a leading ``<split>/`` folder: its path inside the split."""
        prefix = f"{self.split}/"
        if self.split and self.file.startswith(prefix):
            return self.file[len(prefix) :]
        return self.file


@dataclass
class DetectionDataset:
    """A detection / instance-segmentation / keypoint data set in memory.

    Attributes:
        images_root: Folder the images' ``file`` paths are relative to.
        classes: Class names; ``class_id`` indexes this tuple.
        images: Every image, labelled or background.
        keypoint_names: Names of the keypoints (same for every class), if any.
        skeleton: Pairs of 0-based keypoint indices to connect when drawing.
        source_format: ``coco``, ``yolo``, ``voc`` or ``""`` (built in memory).
        root: The data set folder problems' file names are relative to (defaults to
            ``images_root``).
    """

    images_root: Path
    classes: tuple[str, ...]
    images: list[ImageAnnotation]
    keypoint_names: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()
    source_format: str = ""
    root: Path | None = None

    def __post_init__(self) -> None:
        self.images_root = Path(self.images_root)
        self.classes = tuple(self.classes)
        self.keypoint_names = tuple(self.keypoint_names)
        self.skeleton = tuple((int(a), int(b)) for a, b in self.skeleton)
        if self.root is None:
            self.root = self.images_root

    def image_path(self, image: ImageAnnotation) -> Path:
        """Absolute path of ``image``'s file."""
        return self.images_root / image.file

    @property
    def splits(self) -> list[str]:
        """Split names in use, ``train``/``val``/``test`` first, then others sorted."""
        used = {image.split for image in self.images}
        known = [s for s in SPLIT_NAMES if s in used]
        return known + sorted(used - set(SPLIT_NAMES))

    @property
    def num_objects(self) -> int:
        """Objects over all images."""
        return sum(len(image.objects) for image in self.images)

    @property
    def has_masks(self) -> bool:
        """True when any object carries a polygon or RLE mask."""
        return any(o.has_mask for image in self.images for o in image.objects)

    @property
    def has_keypoints(self) -> bool:
        """True when the data set declares keypoints or any object carries them."""
        return bool(self.keypoint_names) or any(
            o.keypoints for image in self.images for o in image.objects
        )

    @property
    def num_keypoints(self) -> int:
        """Keypoints per object (from the names, else the longest keypoint list)."""
        if self.keypoint_names:
            return len(self.keypoint_names)
        lengths = [len(o.keypoints) // 3 for i in self.images for o in i.objects if o.keypoints]
        return max(lengths, default=0)

    def class_counts(self, split: str | None = None) -> Counter[int]:
        """Objects per class id (optionally of one split)."""
        return Counter(
            o.class_id
            for image in self.images
            if split is None or image.split == split
            for o in image.objects
        )

    def objects(self) -> Iterator[tuple[ImageAnnotation, ObjectAnnotation]]:
        """Every ``(image, object)`` pair."""
        for image in self.images:
            for obj in image.objects:
                yield image, obj


# --------------------------------------------------------------------------------------------
# Small helpers shared by the format modules
# --------------------------------------------------------------------------------------------


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` of an image as displayed (EXIF orientation applied), header only.

    Raises:
        ImageLoadError: The file is missing or not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            try:
                orientation = image.getexif().get(0x0112, 1)
            except Exception:  # a broken EXIF block does not make the pixels unreadable
                orientation = 1
    except FileNotFoundError:
        raise ImageLoadError(str(path), "file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageLoadError(str(path), f"not a readable image ({error})") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return int(width), int(height)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_image_file(path: Path) -> bool:
    """True for a regular file with an image suffix (hidden files are skipped)."""
    return (
        path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


def scan_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if is_image_file(p))


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators (absolute path when outside)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return Path(os.path.relpath(path, root)).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()


def common_root(paths: Iterable[Path], preferred: Path) -> Path:
    """``preferred`` when every path lies under it, else the deepest folder holding them all."""
    paths = list(paths)
    if all(p.is_relative_to(preferred) for p in paths):
        return preferred
    return Path(os.path.commonpath([str(p.parent) for p in paths]))


def format_number(value: float, digits: int = 6) -> str:
    """A float with at most ``digits`` decimals and no trailing zeros (``0.5``, ``12``)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def polygon_bounds(polygons: Iterable[Iterable[float]]) -> tuple[float, float, float, float] | None:
    """Tight xyxy box around every point of ``polygons`` (None when there are no points)."""
    xs: list[float] = []
    ys: list[float] = []
    for poly in polygons:
        values = list(poly)
        xs.extend(values[0::2])
        ys.extend(values[1::2])
    if not xs or not ys:
        return None
    return (min(xs), min(ys), max(xs), max(ys))
