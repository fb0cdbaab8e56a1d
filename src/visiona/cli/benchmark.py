"""``visiona benchmark MODEL``: images/s, latency, memory and share of peak FLOP/s per backend."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from visiona.cli.conventions import fresh_path, model_argument, split_ints, split_list
from visiona.cli.export import load_for_cli
from visiona.cli.output import stderr_console, stdout_console
from visiona.errors import UsageError


def benchmark(
    model: str = typer.Argument(
        None, help="Model name, checkpoint, .onnx or .tflite file (or give it with -m)."
    ),
    backend: list[str] = typer.Option(
        None,
        "--backend",
        help="Runtimes, comma-separated or repeated: torch, compiled, onnx, tflite "
        "(default: torch,onnx).",
    ),
    batch_size: list[str] = typer.Option(
        None, "--batch-size", "-b", help="Batch sizes, comma-separated or repeated (default: 1,16)."
    ),
    seconds: float = typer.Option(3.0, "--seconds", min=0.01, help="Timed seconds per setting."),
    task: str = typer.Option(None, "--task", help="Task (default: the model's own)."),
    weights: Path = typer.Option(None, "--weights", help="Local weights file for MODEL."),
    random_init: bool = typer.Option(
        False, "--random-init", help="Random weights (speed does not depend on them)."
    ),
    threads: int = typer.Option(None, "--threads", min=1, help="Threads (default: all cores)."),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the report as JSON."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
    model_option: str = typer.Option(None, "--model", "-m", help="The model, instead of MODEL."),
) -> None:
    """Measure model-only speed per backend and batch size (random input, after a warm-up).

    Reports images/s, batch latency p50/p95, peak resident memory, the model's GFLOPs per image
    and the fraction of the CPU's fp32 peak (probed on the spot with a large matrix product).
    """
    from visiona.engine.benchmark import benchmark as run_benchmark
    from visiona.engine.predict.backends import BACKENDS

    model = model_argument(model, model_option)
    backends = split_list(backend) or ["torch", "onnx"]
    for name in backends:
        BACKENDS.get(name)  # unknown names fail before anything loads
    sizes = split_ints(batch_size, "--batch-size") or [1, 16]
    if output is not None and output.is_dir():
        raise UsageError(f"--output {output} is a folder; give a .json file name")
    if output is not None:
        output = fresh_path(output)
    err = stderr_console()
    loaded = load_for_cli(model, task, random_init, weights)
    with err.status("benchmarking") as status:
        report = run_benchmark(
            loaded,
            backends=backends,
            batch_sizes=sizes,
            seconds=seconds,
            threads=threads,
            progress=lambda line: status.update(f"benchmarking: {line}"),
        )
    data = report.to_dict()
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(data, indent=2) + "\n")
    if as_json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    _print_table(data)
    if output is not None:
        err.print(f"report written to {output}", markup=False)


def _print_table(data: dict) -> None:
    from rich.table import Table

    gflops, peak = data["gflops_per_image"], data["peak_gflops"]
    height, width = data["input_size"]
    lines = [f"{data['model']} ({data['task']}, {height}×{width}), {data['threads']} threads"]
    if gflops:
        lines.append(f"model: {gflops:.3g} GFLOPs/image")
    if peak:
        lines.append(f"CPU: measured fp32 peak {peak:.1f} GFLOP/s (matrix-product probe)")
    table = Table()
    for column in ("backend", "batch", "images/s", "p50 ms", "p95 ms", "peak MiB", "% of peak"):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for row in data["rows"]:
        fraction = row["fraction_of_peak"]
        table.add_row(
            row["backend"],
            str(row["batch_size"]),
            f"{row['images_per_s']:.1f}",
            f"{row['latency_p50_ms']:.1f}",
            f"{row['latency_p95_ms']:.1f}",
            f"{row['peak_memory_mib']:.0f}",
            f"{fraction:.0%}" if fraction is not None else "-",
        )
    console = stdout_console()
    for line in lines:
        console.print(line, markup=False)
    console.print(table)
