"""Frames/s on a 720p video file with an ONNX detector: visiona vs ultralytics, same run.

* A 1280×720, 30 fps H.264 clip (``--seconds``, default 30) of scikit-image photos panning, with
  shapes moving over them, is written with visiona's writer.
* ``YOLO("yolo11n.yaml")`` (random init; speed does not depend on the weights, and no pretrained
  detector ships offline) is exported by ultralytics to ONNX at 640 px.
* **ultralytics**: ``YOLO(onnx).predict(clip, stream=True)`` over the file (its own video reader,
  letterbox, ONNX Runtime, NMS), per-stage times from its ``result.speed``.
* **visiona**: ``VideoStream(Predictor(load_model(onnx)), clip)`` — PyAV reader thread, letterbox,
  the same ONNX file in ONNX Runtime, NMS → ``Detections`` per frame, per-stage times from
  ``stream.stats``; and once more with drawing + H.264 encoding (``--save out.mp4``).

Runs are interleaved and repeated (``--repeats``); medians are reported, as Markdown and ``--json``.
Optional: ``--track-set DIR`` also reports MOTA/IDF1 per tracker on ``visiona data make tracks``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_clip(path: Path, seconds: float, fps: float = 30.0) -> Path:
    from PIL import Image
    from skimage import data

    from visiona.data.video.writer import VideoWriter

    photo = np.asarray(Image.fromarray(data.astronaut()).resize((1600, 900)))
    rng = np.random.default_rng(0)
    boxes = rng.uniform(0, 600, (6, 2))
    speed = rng.uniform(-8, 8, (6, 2))
    with VideoWriter(path, fps) as writer:
        for index in range(round(seconds * fps)):
            x = int(160 + 150 * np.sin(index / 40))
            frame = photo[90:810, x : x + 1280].copy()
            for (bx, by), (vx, vy) in zip(boxes, speed, strict=True):
                cx, cy = int(bx + vx * index) % 1180, int(by + vy * index) % 620
                frame[cy : cy + 100, cx : cx + 100] = (230, 60, 60)
            writer.write(frame)
    return path


def export_yolo(tmp: Path) -> Path:
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    exported = Path(YOLO("yolo11n.yaml").export(format="onnx", imgsz=640, simplify=False))
    path = tmp / "yolo11n.onnx"
    path.write_bytes(exported.read_bytes())
    return path


def run_ultralytics(onnx: Path, clip: Path) -> dict[str, Any]:
    from ultralytics import YOLO

    model = YOLO(str(onnx), task="detect")
    stages = {"preprocess": 0.0, "model": 0.0, "postprocess": 0.0}
    frames, started = 0, time.perf_counter()
    for result in model.predict(str(clip), imgsz=640, stream=True, verbose=False):
        frames += 1
        stages["preprocess"] += result.speed["preprocess"]
        stages["model"] += result.speed["inference"]
        stages["postprocess"] += result.speed["postprocess"]
    seconds = time.perf_counter() - started
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds,
            "ms_per_frame": {k: v / frames for k, v in stages.items()}}  # fmt: skip


def run_visiona(onnx: Path, clip: Path, save: Path | None = None) -> dict[str, Any]:
    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.predict.video import VideoStream
    from visiona.models.load import load_model

    predictor = Predictor(load_model(str(onnx), task="detect"), batch_size=1, device="cpu")
    stream = VideoStream(predictor, str(clip))
    writer = None
    if save is not None:
        from visiona.cli.video import render
        from visiona.data.video.writer import VideoWriter

    for prediction in stream:
        if save is not None:
            started = time.perf_counter()
            frame = render(prediction, stream)
            stream.stats.seconds["draw"] += time.perf_counter() - started
            started = time.perf_counter()
            if writer is None:
                writer = VideoWriter(save, stream.fps)
            writer.write(frame)
            stream.stats.seconds["encode"] += time.perf_counter() - started
    if writer is not None:
        started = time.perf_counter()
        writer.close()
        stream.stats.seconds["encode"] += time.perf_counter() - started
        stream.stats.finished = time.perf_counter()
    stats = stream.stats.to_dict()
    return {"frames": stats["frames"], "seconds": stats["seconds"], "fps": stats["fps"],
            "ms_per_frame": stats["ms_per_frame"]}  # fmt: skip


def tracking(folder: Path) -> list[dict[str, Any]]:
    from visiona.engine.evaluate.track import evaluate_tracking

    return [evaluate_tracking(folder, name) for name in ("bytetrack", "sort", "ocsort")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--track-set", type=Path, help="also score trackers on this set")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="visiona-video-bench-") as name:
        tmp = Path(name)
        clip = make_clip(tmp / "clip720p.mp4", args.seconds)
        onnx = export_yolo(tmp)
        variants = {
            "ultralytics predict(stream=True)": lambda: run_ultralytics(onnx, clip),
            "visiona VideoStream": lambda: run_visiona(onnx, clip),
            "visiona VideoStream + draw + H.264": lambda: run_visiona(onnx, clip, tmp / "o.mp4"),
        }
        for _ in range(args.repeats):
            for label, run in variants.items():
                rows.setdefault(label, []).append(run())
                print(label, json.dumps(rows[label][-1]), flush=True)
    base = statistics.median(r["fps"] for r in rows["ultralytics predict(stream=True)"])
    print("\n| variant | frames/s | vs ultralytics | ms/frame by stage |\n|---|---|---|---|")
    for label, runs in rows.items():
        fps = statistics.median(r["fps"] for r in runs)
        split = ", ".join(f"{k} {v:.1f}" for k, v in runs[-1]["ms_per_frame"].items() if v >= 0.05)
        print(f"| {label} | {fps:.1f} | {fps / base:.2f}× | {split} |")
    report: dict[str, Any] = {"runs": rows}
    if args.track_set:
        report["tracking"] = tracking(args.track_set)
        for row in report["tracking"]:
            print(row)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
