"""``visiona evaluate track DIR``: MOTA, IDF1 and ID switches per tracker (motmetrics)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from visiona.cli.output import stderr_console, stdout_console


def register(app: typer.Typer) -> None:
    """Add ``track`` to the ``visiona evaluate`` app."""

    @app.command("track")
    def track(
        data: Path = typer.Argument(..., help="A tracking set (visiona data make tracks DIR)."),
        trackers: str = typer.Option(
            "bytetrack,sort,ocsort", "--track", help="Trackers to compare, comma-separated."
        ),
        model: str = typer.Option(
            None,
            "--model",
            "-m",
            help="Detector run on DIR/video.mp4 (default: the set's ground-truth detections).",
        ),
        random_init: bool = typer.Option(False, "--random-init", help="Random detector weights."),
        conf: float = typer.Option(0.25, "--conf", min=0.0, max=1.0, help="Detector threshold."),
        max_frames: int = typer.Option(
            None, "--max-frames", min=1, help="Only the first N frames."
        ),
        output: Path = typer.Option(None, "--output", "-o", help="Write the metrics as JSON here."),
        as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    ) -> None:
        """Track objects through a MOTChallenge-style set and score the tracks.

        Exit codes: 0 evaluated, 2 bad usage (unknown tracker, missing set).
        """
        from rich.table import Table

        from visiona.data.video.sources import Selection
        from visiona.engine.evaluate.track import evaluate_tracking
        from visiona.engine.predict.track import check_tracker

        names = [check_tracker(name.strip()) for name in trackers.split(",") if name.strip()]
        predictor = None
        options = {}
        if model is not None:
            from visiona.engine.predict.predictor import Predictor

            predictor = Predictor.load(model, task="detect", pretrained=not random_init,
                                       console=stderr_console(), batch_size=1, workers=0)  # fmt: skip
            options = {"conf": conf, "selection": Selection(max_frames=max_frames)}
        reports = [evaluate_tracking(data, name, predictor=predictor, options=options)
                   for name in names]  # fmt: skip
        if output is not None:
            output.write_text(json.dumps(reports, indent=2) + "\n")
        if as_json:
            json.dump(reports, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        table = Table(title=f"tracking on {data} ({reports[0]['detections']} detections)")
        for column in ("tracker", "MOTA", "IDF1", "ID switches", "precision", "recall", "frames"):
            table.add_column(column, justify="left" if column == "tracker" else "right")
        for r in reports:
            table.add_row(r["tracker"], f"{r['mota']:.3f}", f"{r['idf1']:.3f}",
                          str(r["num_switches"]), f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                          str(r["num_frames"]))  # fmt: skip
        stdout_console().print(table)
