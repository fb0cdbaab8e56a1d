"""``visiona data make | list | augment | convert | check``: build, augment, convert, check data.

``make`` builds image-folder classification sets from installed packages, or the synthetic
detection set ``shapes``; ``convert`` and ``check`` work on detection labels (COCO, YOLO, VOC).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

if TYPE_CHECKING:
    from visiona.data.detection.annotations import Problem

_JSON = typer.Option(False, "--json", help="Print the result as JSON to stdout.")
app = typer.Typer(
    help="Build data sets offline (image folders, synthetic shapes); convert and check labels.",
    no_args_is_help=True,
)


@app.command("make")
def make(
    name: str = typer.Argument(
        ...,
        metavar="NAME",
        help="Data set: digits, fashion-mnist, mnist or shapes (visiona data list).",
    ),
    out_dir: Path = typer.Argument(
        ..., metavar="DIR", help="Folder to write train/<class>/ and test/<class>/ into."
    ),
    size: int = typer.Option(
        None, "--size", min=1, help="Image side in pixels (default: 32 for digits, else 28)."
    ),
    limit_per_class: int = typer.Option(
        None, "--limit-per-class", min=1, help="At most N images per class and split (seeded)."
    ),
    test_fraction: float = typer.Option(
        0.2, "--test-fraction", help="Share of each class held out as test/ (not fashion-mnist)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the test split and sampling."),
    image_format: str = typer.Option(
        None,
        "--format",
        help="Image format: png (default), jpg or bmp; shapes: label format coco (default), "
        "yolo or voc.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a previous build in DIR (other files are kept)."
    ),
    num_images: int = typer.Option(
        None, "--images", min=1, help="shapes: number of images (default 200)."
    ),
    max_objects: int = typer.Option(
        None, "--max-objects", min=1, help="shapes: most shapes per image (default 4)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Write a data set as DIR/train/<class>/*.png and DIR/test/<class>/*.png, offline.

    ``shapes`` instead writes seeded synthetic detection images (circles, squares, triangles
    with exact boxes and instance masks) as COCO, YOLO or VOC with train/ and val/ splits
    (--test-fraction is the val share).

    Exit codes: 0 written, 2 bad usage, 3 the package holding the data is not installed.
    """
    from rich.table import Table

    from visiona.data.builders import BUILDERS, builder_names, make_dataset
    from visiona.registry import unknown_name_error

    if name == "shapes":
        if limit_per_class is not None:
            raise UsageError("--limit-per-class does not apply to shapes; use --images")
        _make_shapes(
            out_dir,
            fmt=image_format or "coco",
            num_images=num_images or 200,
            image_size=size or 128,
            max_objects=max_objects or 4,
            seed=seed,
            val_fraction=test_fraction,
            overwrite=overwrite,
            as_json=as_json,
        )
        return
    if name not in BUILDERS:
        known = ", ".join([*builder_names(), "shapes"])
        raise unknown_name_error(
            "data set", name, [*BUILDERS, "shapes"], f"known: {known} (see: visiona data list)"
        )
    for option, value in (("--images", num_images), ("--max-objects", max_objects)):
        if value is not None:
            raise UsageError(f"{option} only applies to shapes")
    image_format = image_format or "png"

    report = make_dataset(
        name,
        out_dir,
        image_size=size,
        limit_per_class=limit_per_class,
        test_fraction=test_fraction,
        seed=seed,
        fmt=image_format,
        progress=True,
        overwrite=overwrite,
    )
    splits = list(report.counts)
    if as_json:
        _print_json({
            "name": report.name, "out_dir": str(report.out_dir), "image_size": report.image_size,
            "classes": list(report.classes), "images": report.total,
            "counts": {split: dict(report.counts[split]) for split in splits},
            "seconds": round(report.seconds, 3),
        })  # fmt: skip
        return
    table = Table(title=f"{report.name}: {report.image_size}×{report.image_size} px grayscale")
    table.add_column("class")
    for split in [*splits, "total"]:
        table.add_column(split, justify="right")
    for cls in report.classes:
        per_split = [report.counts[split].get(cls, 0) for split in splits]
        table.add_row(cls, *map(str, per_split), str(sum(per_split)))
    totals = [sum(report.counts[split].values()) for split in splits]
    table.add_section()
    table.add_row("total", *map(str, totals), str(sum(totals)), style="bold")
    out = stdout_console()
    out.print(table)
    out.print(
        f"wrote {report.total} images to {report.out_dir} "
        f"({', '.join(f'{s}/' for s in splits)}, dataset.json) in {report.seconds:.1f} s",
        markup=False,
    )


@app.command("list")
def list_builders(as_json: bool = _JSON) -> None:
    """Show every data set: source package, size, license and whether it is installed here."""
    from rich.table import Table

    from visiona.data.builders import BUILDERS

    if as_json:
        rows = []
        for builder in BUILDERS.values():
            path = builder.locate()
            rows.append({
                "name": builder.name, "images": builder.num_images,
                "size": builder.native_size, "classes": len(builder.classes),
                "source": builder.source, "license": builder.license,
                "available": path is not None, "path": str(path) if path else None,
                "install": None if path else builder.install[0],
            })  # fmt: skip
        rows.append({
            "name": "shapes", "images": None, "size": None, "classes": 3,
            "source": "generated here", "license": "CC0-1.0 (generated)", "available": True,
            "path": None, "install": None,
        })  # fmt: skip
        _print_json(rows)
        return

    table = Table(title="visiona data sets")
    for column in ("name", "images", "size", "classes", "source", "license", "available"):
        table.add_column(column, no_wrap=column == "name", overflow="fold")
    missing = []
    for builder in BUILDERS.values():
        path = builder.locate()
        if path is None:
            missing.append(builder)
        table.add_row(
            builder.name,
            f"{builder.num_images:,}",
            f"{builder.native_size}×{builder.native_size}",
            str(len(builder.classes)),
            builder.source,
            builder.license,
            f"yes ({path})" if path else "no",
        )
    table.add_row(
        "shapes",
        "any (200)",
        "any (128)",
        "3",
        "generated here (circles, squares, triangles; COCO, YOLO or VOC labels)",
        "CC0-1.0 (generated)",
        "yes (generated)",
    )
    stdout_console().print(table)
    err = stderr_console()
    for builder in missing:
        err.print(f"{builder.name}: {builder.install[0]}", markup=False)


@app.command("augment")
def augment(
    source: Path = typer.Argument(..., help="Image folder with one subfolder per class."),
    destination: Path = typer.Argument(..., help="New folder for the augmented copy."),
    preset: str = typer.Option("strong", "--preset", help="light or strong augmentation."),
    copies: int = typer.Option(2, "--copies", "-n", min=1, help="Augmented versions per image."),
    hflip: bool = typer.Option(True, "--hflip/--no-hflip", help="Allow mirror flips."),
    originals: bool = typer.Option(
        True, "--originals/--no-originals", help="Also copy each original image."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random transforms."),
    as_json: bool = _JSON,
) -> None:
    """Write an augmented copy of a dataset (offline augmentation); the source is not touched."""
    from visiona.data.augment_copy import augment_folder

    console = stderr_console()
    report = augment_folder(
        source, destination, preset=preset, copies=copies, include_original=originals,
        hflip=hflip, seed=seed, console=console,
    )  # fmt: skip
    for path, reason in report.skipped:
        console.print(f"skipped: {path}: {reason}", markup=False)
    console.print(f"wrote {report.written} images to {report.destination}", markup=False)
    if as_json:
        _print_json({
            "destination": str(report.destination), "written": report.written,
            "skipped": [{"source": str(path), "reason": reason} for path, reason in report.skipped],
        })  # fmt: skip


def _make_shapes(
    out_dir: Path,
    *,
    fmt: str,
    num_images: int,
    image_size: int,
    max_objects: int,
    seed: int,
    val_fraction: float,
    overwrite: bool,
    as_json: bool = False,
) -> None:
    """``visiona data make shapes``: write the synthetic detection set and print its counts."""
    from rich.table import Table

    from visiona.data.detection.shapes import make_shapes

    report = make_shapes(
        out_dir,
        num_images=num_images,
        image_size=image_size,
        max_objects=max_objects,
        seed=seed,
        fmt=fmt,
        val_fraction=val_fraction,
        overwrite=overwrite,
    )
    splits = list(report.images)
    if as_json:
        _print_json({
            "name": "shapes", "out_dir": str(report.out_dir), "format": report.format,
            "image_size": report.image_size, "classes": list(report.classes),
            "images": {split: report.images[split] for split in splits},
            "objects": {
                split: {report.classes[k]: n for k, n in sorted(report.objects[split].items())}
                for split in splits
            },
            "seconds": round(report.seconds, 3),
        })  # fmt: skip
        return
    table = Table(title=f"shapes ({report.format}): {report.image_size}×{report.image_size} px RGB")
    table.add_column("class")
    for split in [*splits, "total"]:
        table.add_column(split, justify="right")
    for class_id, cls in enumerate(report.classes):
        per_split = [report.objects[split].get(class_id, 0) for split in splits]
        table.add_row(cls, *map(str, per_split), str(sum(per_split)))
    table.add_section()
    objects = [sum(report.objects[split].values()) for split in splits]
    table.add_row("objects", *map(str, objects), str(sum(objects)), style="bold")
    images = [report.images[split] for split in splits]
    table.add_row("images", *map(str, images), str(sum(images)), style="bold")
    out = stdout_console()
    out.print(table)
    out.print(
        f"wrote {report.total_images} images ({report.total_objects} objects) to "
        f"{report.out_dir} as {report.format} in {report.seconds:.1f} s",
        markup=False,
    )


@app.command("convert")
def convert(
    source: Path = typer.Argument(
        ..., metavar="SRC", help="Data set folder (or a COCO .json / YOLO data.yaml file)."
    ),
    destination: Path = typer.Argument(
        ..., metavar="DST", help="New folder for the converted copy (not inside SRC)."
    ),
    from_format: str = typer.Option(
        None, "--from", help="Source format: coco, yolo or voc (default: detected)."
    ),
    to_format: str = typer.Option(..., "--to", help="Target format: coco, yolo or voc."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into a non-empty DST (same-name files replaced)."
    ),
    yolo_labels: str = typer.Option(
        "boxes",
        "--yolo-labels",
        help="With --to yolo: boxes (each object's stored box; masks left out) or polygons "
        "(masks as polygons, for instance segmentation).",
    ),
    as_json: bool = _JSON,
) -> None:
    """Convert detection labels between COCO, YOLO and Pascal VOC; images are copied.

    The source is never modified. Problems found in the source (broken lines are skipped) and
    what the target format cannot hold are printed as warnings on stderr.

    Exit codes: 0 converted cleanly, 1 nothing converted or broken input skipped (source
    errors, as ``visiona data check`` reports them; images or objects the writer left out),
    2 bad usage (unknown format, undetectable source, bad DST).
    """
    from visiona.data.detection.convert import convert as run_convert

    report = run_convert(
        source, destination, from_format, to_format, overwrite=overwrite, yolo_labels=yolo_labels
    )
    err = stderr_console()
    root = report.source_root or (source if source.is_dir() else source.parent)
    for problem in report.problems:
        err.print(_shown(root, problem), markup=False, soft_wrap=True)
    if report.problems:
        err.print(
            f"{len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} in the "
            f"source (see: visiona data check {source})",
            markup=False,
        )
    for note in report.notes:
        err.print(f"note: {note.message}" if note.file == "." else f"note: {note}", markup=False)
    err.print(
        f"converted {report.images_written} images ({report.objects} objects) from "
        f"{report.from_format} to {report.to_format}: {report.destination} "
        f"({report.seconds:.1f} s)",
        markup=False,
    )
    if as_json:
        _print_json({
            "source": str(source), "destination": str(report.destination),
            "from": report.from_format, "to": report.to_format, "images": report.images,
            "objects": report.objects, "problems": [_problem_dict(p) for p in report.problems],
            "notes": [note.message for note in report.notes],
        })  # fmt: skip
    if not report.ok:
        reasons = []
        if report.images_written == 0:
            reasons.append("nothing converted (no usable images in the source)")
        if report.errors:
            reasons.append(f"{len(report.errors)} errors in the source")
        if report.skipped:
            reasons.append(f"{len(report.skipped)} images/objects left out")
        err.print(f"error: {'; '.join(reasons)}", markup=False)
        raise typer.Exit(1)


def _shown(root: Path, problem: Problem) -> str:
    """A problem as ``ROOT/file:line: message`` (``ROOT`` as the user gave it)."""
    where = str(root) if problem.file == "." else f"{root / problem.file}"
    if problem.line is not None:
        where = f"{where}:{problem.line}"
    prefix = "" if problem.level == "error" else f"{problem.level}: "
    return f"{where}: {prefix}{problem.message}"


@app.command("check")
def check(
    folder: Path = typer.Argument(
        ..., metavar="DIR", help="Data set folder (or a COCO .json / YOLO data.yaml file)."
    ),
    label_format: str = typer.Option(
        None, "--format", help="Label format: coco, yolo or voc (default: detected)."
    ),
    no_hash: bool = typer.Option(
        False, "--no-hash", help="Skip the duplicate-image search (reads every image)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Check detection labels: counts per class, then one line per problem (file:line: message).

    Reports broken label lines, class ids out of range, degenerate and out-of-bounds boxes,
    labels without images, duplicate images and images without labels (background); nothing is
    changed.

    Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.
    """
    from rich.table import Table

    from visiona.data.detection.check import check_dataset

    report = check_dataset(folder, label_format, hash_images=not no_hash)
    if as_json:
        _print_check_json(folder, report)
        if not report.ok:
            raise typer.Exit(1)
        return
    out = stdout_console()
    if report.dataset is not None:
        splits = report.splits
        labels = [s or "(no split)" for s in splits]
        out.print(
            f"{folder}: {report.format.upper()}, {report.total_images} images, "
            f"{report.total_objects} objects",
            markup=False,
            soft_wrap=True,
        )
        table = Table()
        table.add_column("class")
        for label in [*labels, "total", "images"]:
            table.add_column(label, justify="right")
        for class_id, cls in enumerate(report.classes):
            per_split = [report.objects[s].get(class_id, 0) for s in splits]
            table.add_row(
                cls,
                *map(str, per_split),
                str(sum(per_split)),
                str(report.images_with_class.get(class_id, 0)),
            )
        stray = sorted(
            {c for counts in report.objects.values() for c in counts}
            - set(range(len(report.classes)))
        )
        for class_id in stray:
            per_split = [report.objects[s].get(class_id, 0) for s in splits]
            table.add_row(
                f"(class id {class_id})",
                *map(str, per_split),
                str(sum(per_split)),
                str(report.images_with_class.get(class_id, 0)),
                style="red",
            )
        table.add_section()
        objects = [sum(report.objects[s].values()) for s in splits]
        table.add_row("objects", *map(str, objects), str(sum(objects)), "", style="bold")
        images = [report.images[s] for s in splits]
        table.add_row("images", *map(str, images), str(sum(images)), "", style="bold")
        out.print(table)
        if report.background:
            out.print(
                f"{len(report.background)} images without labels (treated as background)",
                markup=False,
            )
    root = folder if folder.is_dir() else folder.parent
    if report.dataset is not None and report.dataset.root is not None:
        root = report.dataset.root
    for problem in report.problems:
        out.print(_shown(root, problem), markup=False, soft_wrap=True)
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = "ok" if report.ok else "errors found"
    out.print(f"{verdict}: {errors} errors, {warnings} warnings", markup=False)
    if not report.ok:
        raise typer.Exit(1)


def _print_json(data: object) -> None:
    import json
    import sys

    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _problem_dict(problem: Problem) -> dict[str, object]:
    return {
        "file": problem.file, "line": problem.line, "level": problem.level,
        "message": problem.message,
    }  # fmt: skip


def _print_check_json(folder: Path, report: Any) -> None:
    """``data check --json``: counts per split and class, then every problem."""
    data: dict[str, object] = {"folder": str(folder), "ok": report.ok}
    if report.dataset is not None:
        classes = list(report.classes)

        def name(class_id: int) -> str:
            return classes[class_id] if 0 <= class_id < len(classes) else f"(class id {class_id})"

        data.update(
            format=report.format,
            classes=classes,
            images={s or "": n for s, n in report.images.items()},
            objects={
                s or "": {name(k): n for k, n in sorted(counts.items())}
                for s, counts in report.objects.items()
            },
            background=len(report.background),
        )
    data["errors"] = len(report.errors)
    data["warnings"] = len(report.warnings)
    data["problems"] = [_problem_dict(p) for p in report.problems]
    _print_json(data)
