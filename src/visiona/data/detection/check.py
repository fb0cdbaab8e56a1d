"""``visiona data check``: find what is wrong with a detection data set, never fix it.

:func:`check_dataset` reads the data set with its format's reader (broken label lines and files,
unknown categories, labels without images) and then looks at the data itself:

======================  =======  ==========================================================
kind                    level    what
======================  =======  ==========================================================
broken-line/-file       error    a label line or file that cannot be parsed (file:line)
class-out-of-range      error    class id < 0 or >= number of classes
degenerate-box          error    zero or negative width/height
out-of-bounds           error    box beyond the image by more than 0.5 px (or entirely out)
missing-image           error    labels whose image file is missing; label files without image
unreadable-image        error    an image file that cannot be opened
size-mismatch           error    declared width/height (COCO, VOC) differ from the image
format-mismatch         error    the folder is not in the format asked for
duplicate-image         warning  two image files with the same bytes (sha256)
keypoint-out-of-bounds  warning  a labelled keypoint outside the image
polygon-out-of-bounds   warning  a polygon point outside the image
duplicate-label         warning  the same label line twice / repeated ids
mixed-format            warning  YOLO box lines in a file of polygon lines
unlisted-image          warning  COCO: an image file no annotation file lists
======================  =======  ==========================================================

Images without objects are not problems: they are counted as background images.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from visiona.data.detection.annotations import (
    FORMATS,
    DetectionDataset,
    ImageAnnotation,
    Problem,
    image_size,
    relative,
    scan_images,
    sha256_file,
)
from visiona.data.detection.validate import TOLERANCE_PX, validate_dataset
from visiona.errors import ImageLoadError, InputNotFoundError

__all__ = ["TOLERANCE_PX", "CheckReport", "check_dataset", "validate_dataset"]


@dataclass
class CheckReport:
    """What :func:`check_dataset` found.

    Attributes:
        path: The folder (or file) checked.
        format: The label format read (``coco``, ``yolo`` or ``voc``).
        classes: Class names, in class-id order.
        splits: Split names in use (``""`` for images without a split).
        images: Images per split.
        objects: Objects per split and class id: ``objects["train"][0]``.
        images_with_class: Images holding at least one object of each class id.
        background: Image files (relative to the images root) without any object.
        problems: Everything found, sorted by file and line.
        dataset: The data set as read (None when it could not be read).
    """

    path: Path
    format: str
    classes: tuple[str, ...] = ()
    splits: list[str] = field(default_factory=list)
    images: dict[str, int] = field(default_factory=dict)
    objects: dict[str, Counter[int]] = field(default_factory=dict)
    images_with_class: Counter[int] = field(default_factory=Counter)
    background: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dataset: DetectionDataset | None = None

    @property
    def errors(self) -> list[Problem]:
        """Error-level problems."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Warning-level problems."""
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error-level problem."""
        return not self.errors

    @property
    def total_images(self) -> int:
        return sum(self.images.values())

    @property
    def total_objects(self) -> int:
        return sum(sum(c.values()) for c in self.objects.values())

    def kinds(self) -> Counter[str]:
        """Problems per kind."""
        return Counter(p.kind for p in self.problems)


def _check_files(
    dataset: DetectionDataset, root: Path, hash_images: bool, *, whole_set: bool = True
) -> list[Problem]:
    """Missing / unreadable images, declared sizes, duplicate files, unlisted COCO images."""
    problems: list[Problem] = []
    digests: dict[str, tuple[str, str]] = {}
    declared_sizes = dataset.source_format in ("coco", "voc")
    for image in dataset.images:
        path = dataset.image_path(image)
        shown = relative(path, root)
        if not path.is_file():
            where = image.label_file or shown
            problems.append(
                Problem(
                    where,
                    image.line,
                    f"labels refer to a missing image: {shown}",
                    kind="missing-image",
                )
            )
            continue
        if declared_sizes:
            try:
                actual = image_size(path)
            except ImageLoadError as error:
                problems.append(Problem(shown, None, error.reason, kind="unreadable-image"))
                continue
            if actual != (image.width, image.height):
                problems.append(
                    Problem(
                        image.label_file or shown,
                        image.line,
                        f"declared size {image.width}×{image.height} but {shown} is "
                        f"{actual[0]}×{actual[1]}",
                        kind="size-mismatch",
                    )
                )
        if hash_images:
            digest = sha256_file(path)
            if digest in digests:
                first, first_split = digests[digest]
                leak = (
                    f" (in {first_split} and {image.split}: evaluation leaks)"
                    if first_split != image.split
                    else ""
                )
                problems.append(
                    Problem(
                        shown,
                        None,
                        f"same bytes as {first}{leak}",
                        level="warning",
                        kind="duplicate-image",
                    )
                )
            else:
                digests[digest] = (shown, image.split)
    if whole_set and dataset.source_format == "coco" and dataset.images_root.is_dir():
        listed = {dataset.image_path(i).resolve() for i in dataset.images}
        for path in scan_images(dataset.images_root):
            if path.resolve() not in listed:
                problems.append(
                    Problem(
                        relative(path, root),
                        None,
                        "image file is in no annotation file (not used)",
                        level="warning",
                        kind="unlisted-image",
                    )
                )
    return problems


def check_dataset(
    path: str | Path, fmt: str | None = None, *, hash_images: bool = True
) -> CheckReport:
    """Check a detection data set and report counts and problems (nothing is modified).

    Args:
        path: The data set folder (or a COCO JSON / YOLO yaml file).
        fmt: ``coco``, ``yolo`` or ``voc``; detected from the files when None.
        hash_images: Look for duplicate image files by sha256 (reads every image).

    Returns:
        A :class:`CheckReport`; ``report.ok`` is False when any error-level problem was found.
        A folder that is not in ``fmt`` gives one ``format-mismatch`` error.

    Raises:
        InputNotFoundError: ``path`` does not exist.
        UsageError: Unknown ``fmt``, or ``fmt`` is None and the format cannot be told.
    """
    from visiona.data.detection.convert import (
        _reader,
        check_format_name,
        detect_format,
        detect_formats,
    )

    path = Path(path).expanduser()
    if not path.exists():
        raise InputNotFoundError(f"{path} does not exist")
    root = path if path.is_dir() else path.parent
    if fmt is None:
        fmt = detect_format(path)
    else:
        fmt = check_format_name(fmt)
        found = detect_formats(path)
        formats = [f for f, _ in found]
        if found and fmt not in formats:
            evidence = ", ".join(f"{f.upper()} ({why})" for f, why in found)
            message = f"this is not a {fmt.upper()} data set; it looks like {evidence}"
            return CheckReport(
                path=path,
                format=fmt,
                problems=[Problem(".", None, message, kind="format-mismatch")],
            )
    try:
        dataset, problems = _reader(fmt)(path)
    except InputNotFoundError as error:
        return CheckReport(
            path=path,
            format=fmt,
            problems=[Problem(".", None, error.message, kind="format-mismatch")],
        )
    root = dataset.root or root
    problems = [
        *problems,
        *validate_dataset(dataset),
        *_check_files(dataset, root, hash_images, whole_set=path.is_dir()),
    ]
    problems = _sorted(problems)

    report = CheckReport(path=path, format=fmt, classes=dataset.classes, dataset=dataset)
    report.splits = dataset.splits
    for split in report.splits:
        members: list[ImageAnnotation] = [i for i in dataset.images if i.split == split]
        report.images[split] = len(members)
        report.objects[split] = Counter(o.class_id for i in members for o in i.objects)
    for image in dataset.images:
        report.images_with_class.update({o.class_id for o in image.objects})
        if not image.objects:
            report.background.append(image.file)
    report.problems = problems
    return report


def _sorted(problems: list[Problem]) -> list[Problem]:
    """By file, then line (file-level problems first); duplicates removed."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file != ".", p.file, p.line or 0))


__all__ = ["FORMATS", "TOLERANCE_PX", "CheckReport", "check_dataset", "validate_dataset"]
