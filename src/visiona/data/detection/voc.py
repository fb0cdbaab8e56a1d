"""Pascal VOC: ``Annotations/*.xml`` + ``JPEGImages/`` (+ ``ImageSets/Main/<split>.txt``).

Layout written (and read)::

    DIR/Annotations/<id>.xml           filename, size, one <object> per object
    DIR/JPEGImages/<id>.<ext>          (the image, any format, copied as is)
    DIR/ImageSets/Main/<split>.txt     ids per split (+ trainval.txt when train and val exist)
    DIR/SegmentationObject/<id>.png    instance masks, when objects have masks (id k = object k)
    DIR/classes.txt                    class names in class-id order (visiona's addition)

Coordinates: VOC ``bndbox`` values are 1-based inclusive pixel indices, so the xyxy box is
``(xmin - 1, ymin - 1, xmax, ymax)`` (the detectron2 convention); writing rounds to whole pixels
(within 0.5 px). Class names come from each object's ``<name>``; class ids follow
``classes.txt`` (or ``labelmap.txt``) when present, else the order in which names first appear
in the annotations (XML files in name order) - except for Pascal VOC's own 20 class names, which
keep VOC's official alphabetical order (a warning says the order was sorted). ``<difficult>1`` maps to
:attr:`ObjectAnnotation.iscrowd` (evaluation ignores both). Images in ``JPEGImages`` without an XML
file are background images. Keypoints are not part of VOC and are not written.

Modules: this one reads; :mod:`.voc_write` writes (:func:`write_voc` is re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from visiona.data.detection.annotations import (
    DetectionDataset,
    ImageAnnotation,
    ObjectAnnotation,
    Problem,
    image_size,
    is_image_file,
    relative,
)
from visiona.data.detection.masks import (
    mask_to_rle,
    read_instance_png,
)
from visiona.data.detection.voc_write import write_voc
from visiona.errors import ImageLoadError, InputNotFoundError

__all__ = [
    "MAIN_SPLITS",
    "VOC_CLASSES",
    "XmlNode",
    "parse_xml",
    "read_voc",
    "voc_root",
    "write_voc",
]

MAIN_SPLITS = ("train", "val", "test", "trainval")


# --------------------------------------------------------------------------------------------
# XML with line numbers
# --------------------------------------------------------------------------------------------


@dataclass
class XmlNode:
    """An XML element with the line it starts on."""

    tag: str
    line: int
    text: str = ""
    children: list[XmlNode] = field(default_factory=list)

    def find(self, tag: str) -> XmlNode | None:
        """The first child called ``tag``."""
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[XmlNode]:
        """Every child called ``tag``."""
        return [c for c in self.children if c.tag == tag]

    def findtext(self, tag: str) -> str | None:
        """Stripped text of the first child called ``tag`` (None when missing)."""
        child = self.find(tag)
        return child.text.strip() if child is not None else None


def parse_xml(data: bytes) -> XmlNode:
    """Parse XML into :class:`XmlNode` trees keeping line numbers (expat, no external entities).

    Raises:
        xml.parsers.expat.ExpatError: Malformed XML (``lineno`` says where).
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    stack: list[XmlNode] = []
    roots: list[XmlNode] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = XmlNode(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    def no_entities(*args: object) -> int:
        return 0  # refuse external entities

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.ExternalEntityRefHandler = no_entities
    parser.Parse(data, True)
    return roots[0]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def voc_root(path: Path) -> Path | None:
    """The VOC folder (holding ``Annotations/``) at ``path`` or one level below (VOCdevkit)."""
    if (path / "Annotations").is_dir():
        return path
    if path.is_dir():
        found = [p for p in sorted(path.iterdir()) if (p / "Annotations").is_dir()]
        if len(found) == 1:
            return found[0]
    return None


#: Pascal VOC's 20 classes in their official (alphabetical) order, as VOC models number them.
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def _class_order(root: Path) -> tuple[list[str], str | None]:
    for name in ("classes.txt", "labels.txt", "labelmap.txt"):
        path = root / name
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        names = []
        for line in lines:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            if name == "labelmap.txt":  # CVAT: "name:r,g,b::"
                entry = entry.split(":", 1)[0].strip()
                if entry == "background":
                    continue
            names.append(entry)
        return names, name
    return [], None


def _split_lists(root: Path, problems: list[Problem]) -> tuple[dict[str, str], dict[str, int]]:
    """``{id: split}`` from ImageSets/Main/<split>.txt and ``{id: line}`` of where it was listed."""
    main = root / "ImageSets" / "Main"
    splits: dict[str, str] = {}
    lines: dict[str, int] = {}
    if not main.is_dir():
        return splits, lines
    stems = sorted(p.stem for p in main.glob("*.txt"))
    # Per-class lists ("cat_train.txt": id and ±1) are not splits.
    stems = [s for s in stems if s.rpartition("_")[2] not in MAIN_SPLITS or "_" not in s]
    names = [s for s in MAIN_SPLITS if s in stems] + [s for s in stems if s not in MAIN_SPLITS]
    if "train" in names or "val" in names:
        names = [s for s in names if s != "trainval"]
    for split in names:
        path = main / f"{split}.txt"
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(
                Problem(relative(path, root), None, f"cannot read ({error})", kind="broken-file")
            )
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            image_id = parts[0]
            if image_id in splits and splits[image_id] != split:
                problems.append(
                    Problem(
                        relative(path, root),
                        number,
                        f"{image_id} is also in {splits[image_id]}; kept there",
                        level="warning",
                        kind="duplicate-image",
                    )
                )
                continue
            splits.setdefault(image_id, split)
            lines.setdefault(image_id, number)
    return splits, lines


def _image_for(root: Path, image_id: str, filename: str | None) -> Path:
    folder = root / "JPEGImages"
    if filename:
        name = PurePosixPath(filename.replace("\\", "/")).name
        if (folder / name).is_file():
            return folder / name
    for suffix in (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".bmp", ".webp"):
        if (folder / f"{image_id}{suffix}").is_file():
            return folder / f"{image_id}{suffix}"
    matches = sorted(p for p in folder.glob(f"{image_id}.*") if is_image_file(p))
    if matches:
        return matches[0]
    if filename:
        return folder / PurePosixPath(filename.replace("\\", "/")).name
    return folder / f"{image_id}.jpg"


def _number(node: XmlNode | None) -> float | None:
    if node is None:
        return None
    try:
        value = float(node.text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_voc(path: str | Path) -> tuple[DetectionDataset, list[Problem]]:
    """Read a Pascal VOC data set (``Annotations/``, ``JPEGImages/``, optional ``ImageSets``).

    Args:
        path: The folder holding ``Annotations/`` (or a VOCdevkit folder with one such child).

    Returns:
        The data set (boxes xyxy absolute pixels, ``difficult`` as ``iscrowd``; instance masks
        from ``SegmentationObject/<id>.png`` when present) and the problems found, each with the
        XML file and line.

    Raises:
        InputNotFoundError: ``path`` does not exist or has no ``Annotations/`` folder.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    root = voc_root(path)
    if root is None:
        raise InputNotFoundError(
            f"{path} is not a Pascal VOC folder (no Annotations/)",
            hint="expected Annotations/*.xml and JPEGImages/",
        )
    problems: list[Problem] = []
    split_of, split_lines = _split_lists(root, problems)
    declared, class_file = _class_order(root)
    class_ids = {name: index for index, name in enumerate(declared)}
    found_names: dict[str, None] = {}  # first appearance order
    records: list[tuple[ImageAnnotation, list[tuple[str, ObjectAnnotation]]]] = []
    used_images: set[Path] = set()

    for xml_path in sorted((root / "Annotations").glob("*.xml")):
        image_id = xml_path.stem
        where = relative(xml_path, root)
        try:
            tree = parse_xml(xml_path.read_bytes())
        except OSError as error:
            problems.append(Problem(where, None, f"cannot read ({error})", kind="broken-file"))
            continue
        except Exception as error:  # expat.ExpatError
            problems.append(
                Problem(
                    where,
                    getattr(error, "lineno", None),
                    f"not valid XML: {error}",
                    kind="broken-file",
                )
            )
            continue
        if tree.tag != "annotation":
            problems.append(
                Problem(
                    where,
                    tree.line,
                    f"root element is <{tree.tag}>, not <annotation>",
                    kind="format-mismatch",
                )
            )
            continue
        image_path = _image_for(root, image_id, tree.findtext("filename"))
        used_images.add(image_path)
        width, height = _declared_size(tree, where, problems)
        if not (width and height):
            try:
                width, height = image_size(image_path)
            except ImageLoadError:
                width, height = 0, 0
        image = ImageAnnotation(
            file=relative(image_path, root / "JPEGImages"),
            width=width,
            height=height,
            split=split_of.get(image_id, ""),
            label_file=where,
            line=(tree.find("filename") or tree).line,
        )
        named_objects = []
        for node in tree.findall("object"):
            parsed = _read_object(node, where, problems)
            if parsed is not None:
                named_objects.append(parsed)
                found_names.setdefault(parsed[0], None)
        records.append((image, named_objects))

    extra = [name for name in found_names if name not in class_ids]
    if class_file is None and extra and set(extra) <= set(VOC_CLASSES):
        extra = sorted(extra, key=VOC_CLASSES.index)
        if extra != list(found_names):
            problems.append(
                Problem(
                    ".",
                    None,
                    "no classes.txt: the names are Pascal VOC's, so class ids follow VOC's "
                    f"alphabetical order ({', '.join(extra)}), not first appearance; "
                    "add classes.txt to choose the order",
                    level="warning",
                    kind="class-order",
                )
            )
    elif class_file:
        extra.sort()  # names missing from the class file: appended in sorted order
    if extra and class_file:
        problems.append(
            Problem(
                class_file,
                None,
                f"names used in Annotations but not listed here: {', '.join(extra)} (added)",
                level="warning",
                kind="class-mismatch",
            )
        )
    for name in extra:
        class_ids[name] = len(class_ids)

    images: list[ImageAnnotation] = []
    for image, named_objects in records:
        image.objects = [obj for _, obj in named_objects]
        for name, obj in named_objects:
            obj.class_id = class_ids[name]
        images.append(image)
    # Images without an XML file: background images.
    jpeg = root / "JPEGImages"
    if jpeg.is_dir():
        for image_path in sorted(p for p in jpeg.iterdir() if is_image_file(p)):
            if image_path in used_images:
                continue
            try:
                width, height = image_size(image_path)
            except ImageLoadError as error:
                problems.append(
                    Problem(relative(image_path, root), None, error.reason, kind="unreadable-image")
                )
                width, height = 0, 0
            images.append(
                ImageAnnotation(
                    file=image_path.name,
                    width=width,
                    height=height,
                    split=split_of.get(image_path.stem, ""),
                )
            )
    listed = {Path(image.label_file or image.file).stem for image in images}
    for image_id, split in split_of.items():
        if image_id not in listed:
            problems.append(
                Problem(
                    f"ImageSets/Main/{split}.txt",
                    split_lines.get(image_id),
                    f"{image_id} has no annotation and no image",
                    kind="missing-image",
                )
            )
    dataset = DetectionDataset(
        images_root=jpeg,
        classes=tuple(sorted(class_ids, key=class_ids.__getitem__)),
        images=images,
        source_format="voc",
        root=root,
    )
    problems.extend(_read_masks(dataset, root))
    return dataset, problems


def _declared_size(tree: XmlNode, where: str, problems: list[Problem]) -> tuple[int, int]:
    size = tree.find("size")
    if size is None:
        return 0, 0
    width, height = _number(size.find("width")), _number(size.find("height"))
    if width is None or height is None or width <= 0 or height <= 0:
        problems.append(
            Problem(
                where,
                size.line,
                "<size> needs positive <width> and <height>; read from the image",
                level="warning",
                kind="broken-line",
            )
        )
        return 0, 0
    return int(width), int(height)


def _read_object(
    node: XmlNode, where: str, problems: list[Problem]
) -> tuple[str, ObjectAnnotation] | None:
    name = node.findtext("name")
    if not name:
        problems.append(Problem(where, node.line, "<object> without a <name>", kind="broken-line"))
        return None
    box_node = node.find("bndbox")
    if box_node is None:
        problems.append(
            Problem(where, node.line, f"<object> {name!r} has no <bndbox>", kind="broken-line")
        )
        return None
    values = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        child = box_node.find(tag)
        value = _number(child)
        if value is None:
            line = child.line if child is not None else box_node.line
            problems.append(
                Problem(
                    where,
                    line,
                    f"<{tag}> of {name!r} is missing or not a number",
                    kind="broken-line",
                )
            )
            return None
        values.append(value)
    xmin, ymin, xmax, ymax = values
    difficult = (node.findtext("difficult") or "0").strip()
    obj = ObjectAnnotation(
        box=(xmin - 1, ymin - 1, xmax, ymax),
        class_id=-1,
        iscrowd=difficult not in ("0", "", "false", "False"),
        line=box_node.line,
    )
    return name, obj


def _read_masks(dataset: DetectionDataset, root: Path) -> list[Problem]:
    folder = root / "SegmentationObject"
    problems: list[Problem] = []
    if not folder.is_dir():
        return problems
    for image in dataset.images:
        png = folder / f"{Path(image.file).stem}.png"
        if not png.is_file():
            continue
        where = relative(png, root)
        try:
            masks = read_instance_png(png)
        except ValueError as error:
            problems.append(Problem(where, None, str(error), kind="broken-mask"))
            continue
        for instance_id, mask in masks.items():
            if mask.shape != (image.height, image.width):
                problems.append(
                    Problem(
                        where,
                        None,
                        f"mask is {mask.shape[1]}×{mask.shape[0]}, the image {image.width}×{image.height}",
                        kind="size-mismatch",
                    )
                )
                break
            if instance_id > len(image.objects):
                problems.append(
                    Problem(
                        where,
                        None,
                        f"instance id {instance_id} but the XML has {len(image.objects)} objects",
                        level="warning",
                        kind="mask-without-object",
                    )
                )
                continue
            image.objects[instance_id - 1].rle = mask_to_rle(mask)
    return problems
