"""``visiona predict TASK PATH...``: run a model on images, folders or globs."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from visiona.cli.output import OutputNamer, stderr_console, stdout_console
from visiona.errors import UsageError

if TYPE_CHECKING:
    from visiona.engine.predict import PredictionItem

app = typer.Typer(help="Run a model on images, folders or globs.", no_args_is_help=True)


@app.command("classify")
def classify(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    model: str = typer.Option(
        None, "--model", "-m", help="Model name or checkpoint (default: efficientnet_lite0)."
    ),
    weights: Path = typer.Option(None, "--weights", help="Local weights file for --model."),
    random_init: bool = typer.Option(False, "--random-init", help="Random weights (smoke tests)."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="Classes to report per image."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON to stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print results as CSV to stdout."),
    save: Path = typer.Option(None, "--save", help="Write annotated images to this folder."),
    roi: str = typer.Option(
        None, "--roi", help="Classify only a region: center:0.5 or box:x0,y0,x1,y1."
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    max_pixels: int = typer.Option(
        None, "--max-pixels", min=1, help="Refuse images above this many pixels."
    ),
) -> None:
    """Classify images: top-k labels with probabilities.

    Exit codes: 0 all images classified, 1 some images could not be read, 2 bad usage.
    """
    from visiona.data.sources import expand_inputs
    from visiona.engine.predict import Predictor
    from visiona.engine.preprocess import Roi

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    parsed_roi = Roi.parse(roi) if roi else None
    files = expand_inputs(paths)
    namer = OutputNamer(save, files) if save else None
    err = stderr_console()
    predictor = Predictor.load(
        model,
        task="classify",
        pretrained=not random_init,
        weights_file=weights,
        console=err,
        device=device,
        batch_size=batch_size,
        roi=parsed_roi,
        max_pixels=max_pixels,
    )
    items = _run_with_progress(predictor.stream(files, top_k=top_k), len(files), err)
    saved = [_save_overlay(item, namer) for item in items if namer and item.ok]
    _print_results(items, as_json=as_json, as_csv=as_csv)
    _print_summary(items, saved, err)
    if any(not item.ok for item in items):
        raise typer.Exit(1)


def _run_with_progress(stream, total: int, console) -> list[PredictionItem]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    items = []
    with Progress(
        TextColumn("predicting"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=total < 2 or not console.is_terminal,
    ) as progress:
        task = progress.add_task("predict", total=total)
        for item in stream:
            if item.error is not None:
                console.print(f"error: {item.error}", markup=False)
            items.append(item)
            progress.advance(task)
    return items


def _save_overlay(item: PredictionItem, namer: OutputNamer) -> Path:
    from PIL import Image

    path = namer.path_for(item.source)
    Image.fromarray(item.result.draw(item.image.array)).save(path)
    return path


def _print_results(items: list[PredictionItem], *, as_json: bool, as_csv: bool) -> None:
    ok = [item for item in items if item.ok]
    if as_json:
        json.dump([item.result.to_dict() for item in ok], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["source", "rank", "class_id", "label", "probability"])
        for item in ok:
            for entry in item.result.to_dict()["top"]:
                writer.writerow(
                    [item.source, entry["rank"], entry["class_id"], entry["label"],
                     f"{entry['probability']:.6f}"]
                )  # fmt: skip
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for column, justify in (("image", "left"), ("#", "right"), ("label", "left"),
                            ("probability", "right"), ("class id", "right")):  # fmt: skip
        table.add_column(column, justify=justify)
    for item in ok:
        top = item.result.to_dict()["top"]
        for entry in top:
            table.add_row(
                item.source if entry["rank"] == 1 else "",
                str(entry["rank"]),
                entry["label"],
                f"{entry['probability']:.3f}",
                str(entry["class_id"]),
                end_section=entry is top[-1],
            )
    if ok:
        stdout_console().print(table)


def _print_summary(items: list[PredictionItem], saved: list[Path], console) -> None:
    failed = sum(not item.ok for item in items)
    done = len(items) - failed
    summary = f"classified {done} image{'s' * (done != 1)}"
    if failed:
        summary += f", {failed} could not be read"
    console.print(summary, markup=False)
    if saved:
        console.print(f"annotated images ({len(saved)}) saved to {saved[0].parent}:", markup=False)
        for path in saved:
            console.print(f"  {path}", markup=False)
