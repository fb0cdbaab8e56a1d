"""Numbers for the ``mobile/`` section and BENCHMARKS.md: TFLite (LiteRT) files of the
catalogue's mobile-class classifiers — size, CPU speed beside the ONNX file, agreement with
PyTorch on photos, and what INT8 costs on held-out digits.

    python bench/tflite_mobile.py --digits-model runs/classify/digits-cnn/best \\
        --digits-data digits/ --out bench_out/tflite.json

* EfficientNet-Lite0 (packaged weights): fp32, INT8 dynamic and INT8 static (calibrated on the
  photos) ``.tflite``; images/s at batch 1 on LiteRT (XNNPACK) and on the ONNX file (ONNX
  Runtime); top-1 agreement with PyTorch on scikit-image's photos.
* MobileNetV3 small/large (random init when their weights are not on disk: size and speed do not
  depend on the values): fp32 and INT8 dynamic size and speed.
* The digits CNN of ``make demo``: sizes, speed, and top-1 on the held-out digits for fp32 and
  both INT8 files (calibrated on the training digits).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "cat", "hubble_deep_field",
          "immunohistochemistry", "retina", "colorwheel", "logo", "lily", "kidney", "skin")  # fmt: skip


def photos(folder: Path) -> list[Path]:
    """scikit-image's colour sample photos that load offline, written as PNGs."""
    from PIL import Image
    from skimage import data

    paths = []
    for name in PHOTOS:
        try:
            array = getattr(data, name)()
        except Exception:  # needs a download (pooch) offline
            continue
        if array.ndim != 3:
            continue
        path = folder / f"{name}.png"
        Image.fromarray(array[..., :3]).save(path)
        paths.append(path)
    return paths


ROUNDS = 3


def speed(loaded: Any, backend: str, seconds: float) -> dict[str, float]:
    """Batch-1 images/s and p50 latency: the best of :data:`ROUNDS` runs (the least disturbed
    by other jobs on a shared CPU)."""
    from visiona.engine.benchmark import benchmark

    rows = [
        benchmark(loaded, backends=[backend], batch_sizes=[1], seconds=seconds, probe=False).rows[0]
        for _ in range(ROUNDS)
    ]
    best = max(rows, key=lambda row: row.images_per_s)
    return {"images_per_s": round(best.images_per_s, 1), "p50_ms": round(best.latency_p50_ms, 2)}


def top1(loaded: Any, backend: str, files: list[Path]) -> np.ndarray:
    from visiona.engine.predict.predictor import Predictor

    results = Predictor(loaded, backend=backend, batch_size=8).predict([str(f) for f in files])
    return np.array([result.class_ids[0] for result in results])


def measure(
    name: str,
    loaded: Any,
    folder: Path,
    files: list[Path],
    *,
    calibration: Any,
    seconds: float,
    onnx: bool,
    labelled: Path | None = None,
) -> dict[str, Any]:
    from visiona.engine.export.onnx import export_onnx
    from visiona.engine.export.quantize import accuracy_change
    from visiona.engine.export.tflite import export_tflite, quantize_tflite
    from visiona.models.load import load_model
    from visiona.models.tflite.read import read_tflite

    out: dict[str, Any] = {"model": name}
    start = time.perf_counter()
    report = export_tflite(loaded, folder / f"{name}.tflite", verify_images=files[:8])
    out["convert_s"] = round(time.perf_counter() - start, 1)
    out["verification"] = report.to_dict()["verification"]
    graph = read_tflite(report.path)
    files_by_mode = {"fp32": report.path}
    modes = ["dynamic"] + (["static"] if calibration is not None else [])
    for mode in modes:
        quantized = quantize_tflite(graph, mode, calibration=calibration)
        path = folder / f"{name}.int8-{mode}.tflite"
        path.write_bytes(quantized.model_bytes)
        files_by_mode[f"int8-{mode}"] = path
    reference = top1(loaded, "torch", files)
    rows = {}
    for mode, path in files_by_mode.items():
        model = load_model(str(path))
        row: dict[str, Any] = {"size_mib": round(path.stat().st_size / 2**20, 2)}
        row.update(speed(model, "tflite", seconds))
        row["top1_agreement_with_torch"] = float(np.mean(top1(model, "tflite", files) == reference))
        if labelled is not None and mode != "fp32":
            change = accuracy_change(graph, read_tflite(path), labelled, backend="tflite")
            row["accuracy"] = change.to_dict()
        rows[mode] = row
    if onnx:
        path = folder / f"{name}.onnx"
        export_onnx(loaded, path, verify_images=files[:8])
        model = load_model(str(path))
        rows["onnx-fp32"] = {"size_mib": round(path.stat().st_size / 2**20, 2)}
        rows["onnx-fp32"].update(speed(model, "onnx", seconds))
    rows["torch-eager"] = speed(loaded, "torch", seconds)
    out["rows"] = rows
    out["photos"] = len(files)
    return out


def speed_only(folder: Path, names: list[str], rounds: int, seconds: float) -> dict[str, Any]:
    """Re-time the files of an earlier ``--work`` run, interleaved (each round visits every file,
    so a burst of load from other jobs hits them all alike); the best round is kept."""
    from visiona.engine.benchmark import benchmark
    from visiona.models.load import load_model

    files = {}
    for name in names:
        for label, suffix, backend in (
            ("tflite fp32", ".tflite", "tflite"),
            ("tflite int8-dynamic", ".int8-dynamic.tflite", "tflite"),
            ("tflite int8-static", ".int8-static.tflite", "tflite"),
            ("onnx fp32", ".onnx", "onnx"),
        ):
            files[f"{name} {label}"] = (load_model(str(folder / f"{name}{suffix}")), backend)
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for key, (model, backend) in files.items():
            row = benchmark(
                model, backends=[backend], batch_sizes=[1], seconds=seconds, probe=False
            ).rows[0]
            if row.images_per_s > best.get(key, {}).get("images_per_s", 0.0):
                best[key] = {"images_per_s": round(row.images_per_s, 1),
                             "p50_ms": round(row.latency_p50_ms, 2)}  # fmt: skip
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits-model", type=Path, help="digits CNN checkpoint")
    parser.add_argument("--digits-data", type=Path, help="digits/ with train/ and test/")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--models", default="efficientnet_lite0,mobilenet_v3_small,mobilenet_v3_large"
    )
    parser.add_argument("--out", type=Path, default=Path("bench_out/tflite.json"))
    parser.add_argument("--rounds", type=int, default=3, help="speed runs; the best is kept")
    parser.add_argument("--work", type=Path, help="keep the exported files here")
    parser.add_argument(
        "--speed-only", action="store_true", help="re-time the files in --work, interleaved"
    )
    args = parser.parse_args()
    if args.speed_only:
        names = [n for n in args.models.split(",") if n] + ["digits_cnn"]
        names = [n for n in names if (args.work / f"{n}.tflite").is_file()]
        timed = speed_only(args.work, names, args.rounds, args.seconds)
        timed["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(json.dumps(timed, indent=1))
        return
    global ROUNDS
    ROUNDS = args.rounds

    from visiona.errors import WeightsUnavailableError
    from visiona.models.load import load_model

    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    results["machine"] = f"{platform.machine()}, shared CPU, best of {args.rounds} speed runs"
    with tempfile.TemporaryDirectory(prefix="tflite-bench-") as tmp:
        folder = args.work or Path(tmp)
        (folder / "photos").mkdir(parents=True, exist_ok=True)
        files = photos(folder / "photos")
        for name in [n for n in args.models.split(",") if n]:
            try:
                loaded, weights = load_model(name), "pretrained"
            except WeightsUnavailableError:
                loaded, weights = load_model(name, pretrained=False), "random init"
            row = measure(
                name, loaded, folder, files, calibration=folder / "photos",
                seconds=args.seconds, onnx=True,
            )  # fmt: skip
            row["weights"] = weights
            results[name] = row
            print(json.dumps(row, indent=1), flush=True)
        if args.digits_model:
            loaded = load_model(str(args.digits_model))
            test = args.digits_data / "test"
            digit_files = sorted(test.rglob("*.png"))[::12]
            row = measure(
                "digits_cnn", loaded, folder, digit_files, calibration=args.digits_data / "train",
                seconds=args.seconds, onnx=True, labelled=test,
            )  # fmt: skip
            results["digits_cnn"] = row
            print(json.dumps(row, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
