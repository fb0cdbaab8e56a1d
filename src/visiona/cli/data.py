"""``visiona data make | list | augment``: build image-folder data sets offline, augment copies."""

from __future__ import annotations

from pathlib import Path

import typer

from visiona.cli.output import stderr_console, stdout_console

app = typer.Typer(
    help="Build image-folder data sets (train/ and test/) offline from installed packages.",
    no_args_is_help=True,
)


@app.command("make")
def make(
    name: str = typer.Argument(
        ..., metavar="NAME", help="Data set: digits, fashion-mnist or mnist (visiona data list)."
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
    image_format: str = typer.Option("png", "--format", help="Image format: png, jpg or bmp."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a previous build in DIR (other files are kept)."
    ),
) -> None:
    """Write a data set as DIR/train/<class>/*.png and DIR/test/<class>/*.png, offline.

    Exit codes: 0 written, 1 the package holding the data is not installed, 2 bad usage.
    """
    from rich.table import Table

    from visiona.data.builders import make_dataset

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
def list_builders() -> None:
    """Show every data set: source package, size, license and whether it is installed here."""
    from rich.table import Table

    from visiona.data.builders import BUILDERS

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
