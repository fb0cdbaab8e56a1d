"""``visiona weights list | pull | import | verify``: manage pretrained weights offline-first."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import typer

from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError

app = typer.Typer(help="List, fetch, import and verify pretrained weights.", no_args_is_help=True)
_JSON = typer.Option(False, "--json", help="Print the result as JSON to stdout.")


def _print_json(data: object) -> None:
    import json
    import sys

    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _size(num_bytes: int | None) -> str:
    if not num_bytes:
        return "?"
    return f"{num_bytes / 1e6:.1f} MB"


@app.command("list")
def list_weights(
    pattern: str = typer.Argument(
        "*",
        help="Glob over model or model.tag names, e.g. 'resnet*' (timm: with or without timm/).",
    ),
    include_all: bool = typer.Option(False, "--all", help="Include every timm model too."),
    source: list[str] = typer.Option(
        None,
        "--source",
        help="Only these sources: visiona, torchvision, timm (comma-separated or repeated).",
    ),
    as_json: bool = _JSON,
) -> None:
    """Show each model's weights: source, size, license and whether it is available offline."""
    from rich.table import Table

    from visiona.cli.conventions import split_list
    from visiona.models.catalog import list_specs

    sources = split_list(source) or (
        ["visiona", "torchvision", "timm"] if include_all else ["visiona", "torchvision"]
    )
    # Filter specs by the model part of the pattern first: building every timm spec's weight
    # records takes tens of seconds, a few dozen take a second.
    model_pattern = pattern.split(".", 1)[0] or "*"
    specs = list_specs(model_pattern, sources)
    rows: list[dict[str, Any]] = []
    for spec in specs:
        matches_spec = _matches(spec.name, model_pattern)
        records = [
            w
            for w in spec.weights
            if (matches_spec and "." not in pattern) or _matches(w.full_name, pattern)
        ]
        if not records and matches_spec and not spec.weights:
            rows.append({
                "model": spec.name, "task": spec.task, "source": "random init only",
                "size": None, "license": None, "offline": "yes",
            })  # fmt: skip
        rows += [_record_row(record) for record in records]
    # Packaged perception models (MediaPipe, dlib, MTCNN, Haar) are not torch specs.
    for record in _packaged_records(pattern) if "visiona" in sources else []:
        rows.append(_record_row(record))
    if not rows:
        hint = "try: visiona weights list --all" if "timm" not in sources else None
        raise UsageError(f"no model matches {pattern!r}", hint=hint)
    if as_json:
        _print_json(rows)
        return
    table = Table(title="visiona weights")
    for column in ("model", "task", "source", "size", "license", "offline"):
        table.add_column(column, no_wrap=column == "model")
    for row in rows:
        random_only = row["source"] == "random init only"
        size = "-" if random_only else _size(row["size"])
        table.add_row(
            row["model"], row["task"], row["source"], size, row["license"] or "-", row["offline"]
        )
    stdout_console().print(table)


def _matches(name: str, pattern: str) -> bool:
    """Glob match on ``name``, also without timm's ``timm/`` prefix."""
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(
        name.removeprefix("timm/"), pattern
    )


def _record_row(record: Any) -> dict[str, Any]:
    from visiona.weights.resolve import find_local
    from visiona.weights.sources import describe_source

    local = find_local(record)
    return {
        "model": record.full_name,
        "task": record.task,
        "source": ", ".join(describe_source(u) for u in record.urls) or "-",
        "size": record.file_size,
        "license": record.license,
        "offline": f"yes ({local.origin})" if local else "no",
    }


def _packaged_records(pattern: str) -> list:
    from visiona.models.packaged import PACKAGED_WEIGHTS

    return [
        record
        for record in PACKAGED_WEIGHTS.values()
        if fnmatch.fnmatchcase(record.model, pattern)
        or fnmatch.fnmatchcase(record.full_name, pattern)
    ]


def _record(name: str):
    from visiona.models.catalog import get_spec

    spec, tag = get_spec(name)
    return spec.weights_for(tag)


@app.command("pull")
def pull(
    name: str = typer.Argument(..., help="Model name, optionally NAME.TAG."),
    force: bool = typer.Option(False, "--force", help="Download again even if a copy exists."),
    as_json: bool = _JSON,
) -> None:
    """Fetch weights into the cache (from the network or an installed package)."""
    from visiona.weights.download import download_file
    from visiona.weights.resolve import cache_path, find_local, resolve_weights, unavailable_error
    from visiona.weights.sources import download_url

    record = _record(name)
    err = stderr_console()
    if force:
        urls = [u for u in (download_url(x) for x in record.urls) if u]
        if not urls:
            raise unavailable_error(record, ["no download source; it ships in a package"])
        path = download_file(urls[0], cache_path(record), sha256=record.sha256,
                             label=record.full_name, console=err)  # fmt: skip
        origin = "download"
    else:
        local = find_local(record)
        resolved = local or resolve_weights(record, console=err)
        path, origin = resolved.path, resolved.origin
    if as_json:
        _print_json({"model": record.full_name, "path": str(path), "origin": origin})
        return
    stdout_console().print(f"{record.full_name}: {path} ({origin})", markup=False)


@app.command("import")
def import_(
    name: str = typer.Argument(..., help="Model name, optionally NAME.TAG."),
    file: Path = typer.Argument(..., help="A weights file you downloaded yourself."),
    force: bool = typer.Option(False, "--force", help="Import even if the sha256 differs."),
    as_json: bool = _JSON,
) -> None:
    """Copy a weights file into the cache so the model works offline (your file is untouched)."""
    from visiona.weights.resolve import import_weights

    record = _record(name)
    path = import_weights(record, file, force=force)
    if as_json:
        _print_json({"model": record.full_name, "path": str(path), "imported_from": str(file)})
        return
    stdout_console().print(f"imported {file} as {record.full_name}: {path}", markup=False)


@app.command("verify")
def verify(
    pattern: str = typer.Argument("*", help="Glob over model.tag names to check."),
    as_json: bool = _JSON,
) -> None:
    """Re-hash cached and packaged weight files and compare them with their records."""
    from rich.table import Table

    from visiona.models.catalog import get_spec, list_specs
    from visiona.weights.cache import digest_matches, file_sha256, weights_dir
    from visiona.weights.sources import parse_npm_uri, parse_package_uri

    checks: list[tuple[str, Path, str | None]] = []
    for spec in list_specs("*", ["visiona"]):
        for record in spec.weights:
            for uri in record.urls:
                located = parse_package_uri(uri).locate() if uri.startswith("package://") else None
                if located and fnmatch.fnmatchcase(record.full_name, pattern):
                    checks.append((record.full_name, located, record.sha256))
    for record in _packaged_records(pattern):
        for uri in record.urls:
            source = parse_npm_uri(uri) if uri.startswith("npm://") else parse_package_uri(uri)
            located = source.locate()
            if located:
                checks.append((record.full_name, located, record.sha256))
    folder = weights_dir()
    cached = sorted(
        p for p in folder.glob("*") if p.is_file() and p.suffix in (".pth", ".safetensors")
    )
    for path in cached:
        full_name = path.stem.rsplit("-", 1)[0].replace("--", "/")
        if not fnmatch.fnmatchcase(full_name, pattern):
            continue
        try:
            spec, tag = get_spec(full_name)
            expected = spec.weights_for(tag).sha256
        except UsageError:
            expected = None
        checks.append((full_name, path, expected))
    if not checks:
        if as_json:
            _print_json([])
            return
        stdout_console().print(f"no weight files to verify in {folder}", markup=False)
        return
    table = Table(title="weights verification")
    for column in ("weights", "file", "sha256", "status"):
        table.add_column(column)
    bad, rows = 0, []
    for full_name, path, expected in checks:
        actual = file_sha256(path, recheck=True)
        if expected is None:
            status = "unknown (no recorded hash)"
        elif digest_matches(actual, expected):
            status = "ok"
        else:
            status, bad = f"MISMATCH (expected {expected[:12]}…)", bad + 1
        table.add_row(full_name, str(path), actual[:12] + "…", status)
        rows.append({"model": full_name, "file": str(path), "sha256": actual, "status": status})
    if as_json:
        _print_json(rows)
    else:
        stdout_console().print(table)
    if bad:
        stderr_console().print(
            f"error: {bad} file(s) do not match; re-fetch with: visiona weights pull NAME --force",
            markup=False,
        )
        raise typer.Exit(1)
