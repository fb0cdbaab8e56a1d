"""``visiona index build|search|duplicates``: similarity search over image folders (FAISS)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

app = typer.Typer(help="Similarity search over image folders (FAISS).", no_args_is_help=True)


@app.command("build")
def build(
    folder: Path = typer.Argument(..., help="Folder of images to index (searched recursively)."),
    output: Path = typer.Option(..., "--output", "-o", help="Index file to write, NAME.index."),
    model: str = typer.Option(
        None, "--model", "-m", help="Embedder (default: the index's, else efficientnet_lite0)."
    ),
    kind: str = typer.Option(
        "auto", "--kind", help="auto (exact below 20,000 images, then HNSW), flat, hnsw or ivf."
    ),
    batch_size: int = typer.Option(16, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = typer.Option(False, "--json", help="Print the build summary as JSON."),
) -> None:
    """Build or update an index: only new or changed images are embedded, removed ones dropped.

    Examples:
      visiona index build photos/ -o photos.index
      visiona index build photos/ -m clip -o photos-clip.index

    Exit codes: 0 ok, 1 some images could not be read (skipped, listed), 2 bad usage.
    """
    from visiona.engine.embed.index import build_index

    err = stderr_console()
    report = build_index(
        folder, output, model=model, kind=kind, device=device, batch_size=batch_size, console=err
    )
    for path, reason in report.failed:
        err.print(f"skipped: {path}: {reason}", markup=False)
    index = report.index
    summary = {
        "index": str(report.path), "model": index.model, "kind": index.kind,
        "images": len(index), "dimension": index.dimension, "embedded": report.embedded,
        "reused": report.reused, "removed": report.removed, "failed": len(report.failed),
    }  # fmt: skip
    if as_json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    err.print(
        f"indexed {len(index)} image(s) with {index.model} ({index.kind}, {index.dimension}-d): "
        f"{report.embedded} embedded, {report.reused} reused, {report.removed} removed, "
        f"{len(report.failed)} skipped",
        markup=False,
    )
    err.print(f"  wrote {report.path}", markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command("search")
def search(
    index_file: Path = typer.Argument(..., help="Index file (NAME.index)."),
    image: str = typer.Argument(None, help="Query image (or use --text)."),
    text: str = typer.Option(None, "--text", help='Text query (CLIP/SigLIP indexes): "a red car".'),
    k: int = typer.Option(10, "--top-k", "-k", min=1, help="Hits to return."),
    model: str = typer.Option(
        None, "--model", "-m", help="Query embedder; must be the index's own (default)."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Contact sheet PNG (default: NAME-search.png here)."
    ),
    no_sheet: bool = typer.Option(False, "--no-sheet", help="Do not write a contact sheet."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    as_json: bool = typer.Option(False, "--json", help="Print hits as JSON."),
) -> None:
    """Find the images most similar to an image (or a text): ranked table + contact sheet.

    Examples:
      visiona index search photos.index query.jpg -k 5
      visiona index search photos-clip.index --text "a dog on a beach"
    """
    from visiona.engine.embed.index import load_index, query_vectors

    if (image is None) == (text is None):
        raise UsageError("give a query image or --text (one of them)")
    index = load_index(index_file)
    queries = query_vectors(
        index, images=None if image is None else [image], text=text, model=model, device=device
    )
    scores, rows = index.search(queries, k)
    hits = [
        {"rank": rank, "path": str(index.path_of(int(row))), "score": float(score)}
        for rank, (score, row) in enumerate(zip(scores[0], rows[0], strict=True), start=1)
        if row >= 0
    ]
    err = stderr_console()
    if as_json:
        json.dump(
            {"query": text or image, "model": index.model, "hits": hits}, sys.stdout, indent=2
        )
        sys.stdout.write("\n")
    else:
        _print_hits(hits)
    if not no_sheet and hits:
        sheet = output or Path(f"{index_file.stem}-search.png")
        _contact_sheet(image, text, hits, sheet)
        err.print(f"contact sheet: {sheet}", markup=False)


@app.command("duplicates")
def duplicates(
    index_file: Path = typer.Argument(..., help="Index file (NAME.index)."),
    threshold: float = typer.Option(
        0.75, "--threshold", help="Cosine similarity at or above which images are duplicates."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Contact sheet PNG of the groups."),
    as_json: bool = typer.Option(False, "--json", help="Print the groups as JSON."),
) -> None:
    """List groups of near-duplicate images (resized, re-encoded, slightly cropped copies)."""
    from visiona.engine.embed.index import duplicate_groups, load_index

    index = load_index(index_file)
    groups = duplicate_groups(index, threshold)
    paths = [[str(index.path_of(row)) for row in group] for group in groups]
    if as_json:
        json.dump({"threshold": threshold, "groups": paths}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        console = stdout_console()
        for number, group in enumerate(paths, start=1):
            console.print(f"group {number} ({len(group)} images):", markup=False)
            for path in group:
                console.print(f"  {path}", markup=False)
    err = stderr_console()
    err.print(
        f"{len(groups)} group(s) of near-duplicates among {len(index)} images "
        f"(cosine >= {threshold})",
        markup=False,
    )
    if output is not None and groups:
        from visiona.engine.embed.sheets import thumbnails_sheet

        items = [(path, f"group {n}") for n, group in enumerate(paths, 1) for path in group]
        thumbnails_sheet(items, output)
        err.print(f"contact sheet: {output}", markup=False)


def _print_hits(hits: list[dict]) -> None:
    from rich.table import Table

    table = Table()
    for column, justify in (("#", "right"), ("image", "left"), ("similarity", "right")):
        table.add_column(column, justify=justify)
    for hit in hits:
        table.add_row(str(hit["rank"]), hit["path"], f"{hit['score']:.3f}")
    stdout_console().print(table)


def _contact_sheet(image: str | None, text: str | None, hits: list[dict], path: Path) -> None:
    from visiona.engine.embed.sheets import thumbnails_sheet

    items = [(image, "query")] if image else []
    items += [(hit["path"], f"#{hit['rank']} {hit['score']:.3f}") for hit in hits]
    thumbnails_sheet(items, path, title=f"query: {text}" if text else None)
