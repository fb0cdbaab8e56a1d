"""``visiona predict embed`` (image → vector) and ``visiona embed map`` (a 2-D picture of a space)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

app = typer.Typer(help="Look at embedding spaces.", no_args_is_help=True)

MODEL_HELP = (
    "Embedder: efficientnet_lite0 (default, offline), any classifier or classify checkpoint "
    "(pooled features), clip, dinov2-small, dinov2-base, siglip-base, dlib-face."
)


def predict_embed(
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    weights: Path = typer.Option(
        None, "--weights", help="Local weights file (or snapshot folder) for --model."
    ),
    random_init: bool = typer.Option(False, "--random-init", help="Random weights (smoke tests)."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write the vectors to a .npy (+ .json) or .parquet file."
    ),
    normalize: bool = typer.Option(
        True, "--normalize/--no-normalize", help="Unit-length vectors (cosine = dot product)."
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Reuse vectors of files already embedded by this model."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON to stdout."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
) -> None:
    """Embed images: one vector per image (for search, kNN/logistic heads, maps).

    Examples:
      visiona predict embed photos/ -o vectors.parquet
      visiona predict embed cat.jpg -m clip --json

    Exit codes: 0 all images embedded, 1 some could not be read, 2 bad usage, 3 weights offline.
    """
    from visiona.data.sources import expand_inputs
    from visiona.engine.embed.compute import embed_files
    from visiona.engine.embed.vectors import FORMATS, write_vectors
    from visiona.engine.predict.predictor import Predictor

    if output is not None and output.suffix.lower() not in FORMATS:
        raise UsageError(f"-o {output}: use a .npy or .parquet file")
    files = expand_inputs(paths)
    err = stderr_console()
    predictor = Predictor.load(
        model, task="embed", pretrained=not random_init, weights_file=weights, console=err,
        device=device, batch_size=batch_size,
    )  # fmt: skip
    done = embed_files(predictor, files, normalize=normalize, use_cache=cache, console=err)
    for path, reason in done.failed:
        err.print(f"error: {path}: {reason}", markup=False)
    name = predictor.weights.full_name
    if as_json:
        rows = [
            {"source": str(p), "model": name, "dimension": int(v.size), "normalized": normalize,
             "vector": [float(x) for x in v]}
            for p, v in zip(done.paths, done.vectors, strict=True)
        ]  # fmt: skip
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif output is None:
        _print_table(done.paths, done.vectors)
    written = []
    if output is not None:
        sources = [str(p) for p in done.paths]
        written = write_vectors(output, sources, done.vectors, name, normalize)
    dimension = done.vectors.shape[1] if len(done.vectors) else 0
    summary = f"embedded {len(done.paths)} image(s) with {name} ({dimension}-d)"
    if done.computed != len(done.paths):
        summary += f", {len(done.paths) - done.computed} from the cache"
    if done.failed:
        summary += f", {len(done.failed)} failed"
    err.print(summary, markup=False)
    for path in written:
        err.print(f"  wrote {path}", markup=False)
    if done.failed:
        raise typer.Exit(1)


def _print_table(paths: list[Path], vectors) -> None:
    from rich.table import Table

    table = Table()
    for column in ("image", "dim", "norm", "first values"):
        table.add_column(column)
    for path, vector in zip(paths, vectors, strict=True):
        head = ", ".join(f"{x:+.3f}" for x in vector[:4])
        table.add_row(str(path), str(vector.size), f"{float((vector**2).sum()) ** 0.5:.3f}", head)
    if paths:
        stdout_console().print(table)


def register(predict_app: typer.Typer) -> None:
    """Add ``visiona predict embed`` to the predict command group."""
    predict_app.command("embed")(predict_embed)


@app.command("map")
def embedding_map(
    folder: Path = typer.Argument(..., help="Image folder (class sub-folders colour the map)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    method: str = typer.Option("tsne", "--method", help="tsne (default), umap or pca."),
    output: Path = typer.Option(
        Path("embedding-map.png"), "--output", "-o", help="Map PNG to write."
    ),
    projector: Path = typer.Option(
        None, "--projector", help="Also write a TensorBoard projector folder here."
    ),
    thumbnails: bool = typer.Option(
        True, "--thumbnails/--dots", help="Draw thumbnails (up to 400 images) or dots."
    ),
    batch_size: int = typer.Option(16, "--batch-size", "-b", min=1, help="Images per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seed: int = typer.Option(0, "--seed", help="Seed of t-SNE/UMAP."),
    as_json: bool = typer.Option(False, "--json", help="Print the 2-D points as JSON."),
) -> None:
    """Draw a 2-D map of a folder's embeddings (t-SNE, UMAP or PCA) with thumbnails or labels.

    Example:
      visiona embed map pets/ -o pets-map.png --projector pets-projector/
    """
    from visiona.data.sources import expand_inputs
    from visiona.engine.embed.compute import embed_files
    from visiona.engine.embed.projection import plot_map, project_2d, write_projector
    from visiona.engine.predict.predictor import Predictor

    root = folder.expanduser()
    files = expand_inputs([root])
    err = stderr_console()
    predictor = Predictor.load(
        model, task="embed", device=device, batch_size=batch_size, console=err
    )
    done = embed_files(predictor, files, console=err)
    for path, reason in done.failed:
        err.print(f"skipped: {path}: {reason}", markup=False)
    labels = [path.parent.name if path.parent != root else "(top level)" for path in done.paths]
    points = project_2d(done.vectors, method, seed)
    title = f"{predictor.weights.full_name}, {method}, {len(done.paths)} images"
    plot_map(points, done.paths, labels, output, thumbnails=thumbnails, title=title)
    err.print(f"map of {len(done.paths)} images: {output}", markup=False)
    if projector is not None:
        write_projector(projector, done.vectors, done.paths, labels)
        err.print(f"TensorBoard projector: {projector} (tensorboard --logdir {projector})",
                  markup=False)  # fmt: skip
    if as_json:
        import json
        import sys

        rows = [
            {"path": str(path), "label": label, "x": float(x), "y": float(y)}
            for path, label, (x, y) in zip(done.paths, labels, points, strict=True)
        ]
        json.dump({"map": str(output), "points": rows}, sys.stdout)
        sys.stdout.write("\n")
