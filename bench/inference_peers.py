"""visiona predict against its peers, same machine, same architecture, one run.

Classification (``--models resnet50 mobilenet_v3_large``, 224 px, batch 16, a folder of JPEGs):

* **ORT model only** — the ceiling: ONNX Runtime on a plain float32 export of the network, fed a
  ready-made ``(16, 3, 224, 224)`` batch (no decoding, no resizing).
* **visiona** — ``Predictor`` on visiona's ONNX export (uint8 input, normalisation inside):
  files → decode → resize/crop → batch → ORT → typed ``Classification`` results.
* **visiona torch** — the same Predictor with the PyTorch eager backend.
* **HF pipeline** — ``transformers.pipeline("image-classification")`` on a randomly initialised
  ``ResNetForImageClassification`` (the ResNet-50 configuration) with ResNet-50's image processor,
  file paths in, ``batch_size=16`` (resnet50 only: transformers has no MobileNetV3).
* **timm loop** — timm's plain inference loop: ``timm.data.ImageDataset`` + the model's eval
  transform + a DataLoader (``--workers``), eager PyTorch, softmax + top-5.

Detection (``--yolo``): ultralytics ``YOLO("yolo11n.yaml")`` (random init) exported to ONNX,
then ``YOLO(onnx).predict`` over the folder against visiona predicting with the same ONNX file.

Every variant uses the same threads (``--threads``, default: all cores). Runs are interleaved
and repeated (``--repeats``); medians are reported. Results go to stdout as a Markdown table and
to ``--json``. Peers (transformers, ultralytics) are optional: missing ones are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from visiona.engine.predict.onnx_backend import available_cores, session_for

BATCH = 16


def make_folder(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` 500×375 JPEGs (quality 90): random crops of scikit-image's sample photos."""
    from skimage import data

    photos = [getattr(data, name)() for name in ("astronaut", "chelsea", "coffee", "rocket")]
    photos = [p if p.ndim == 3 else np.stack([p] * 3, -1) for p in photos]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        ch, cw = rng.integers(height // 2, height + 1), rng.integers(width // 2, width + 1)
        y, x = rng.integers(0, height - ch + 1), rng.integers(0, width - cw + 1)
        crop = Image.fromarray(photo[y : y + ch, x : x + cw]).resize((500, 375))
        path = folder / f"img{index:04d}.jpg"
        crop.save(path, quality=90)
        paths.append(path)
    return paths


def timed(run: Callable[[], int]) -> float:
    """Images per second of one call of ``run`` (which returns how many images it did)."""
    start = time.perf_counter()
    images = run()
    return images / (time.perf_counter() - start)


# --------------------------------------------------------------------------- classification


def ort_model_only(module: torch.nn.Module, threads: int, batches: int) -> Callable[[], int]:
    """ONNX Runtime on a plain float export of ``module``, fed one ready batch repeatedly."""
    import io

    buffer = io.BytesIO()
    example = torch.randn(BATCH, 3, 224, 224)
    torch.onnx.export(
        module.eval(), (example,), buffer, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17, dynamo=False,
    )  # fmt: skip
    session = session_for(buffer.getvalue(), threads)
    feed = {"x": example.numpy()}
    session.run(None, feed)

    def run() -> int:
        for _ in range(batches):
            session.run(None, feed)
        return batches * BATCH

    return run


def visiona_predict(model: Any, paths: list[Path], backend: str | None) -> Callable[[], int]:
    from visiona.engine.predict.predictor import Predictor

    predictor = Predictor(model, backend=backend, batch_size=BATCH, device="cpu")
    predictor.predict(paths[:BATCH])  # warm-up

    def run() -> int:
        return len(predictor.predict(paths, top_k=5))

    return run


def hf_pipeline(paths: list[Path]) -> Callable[[], int]:
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetForImageClassification
    from transformers import pipeline as hf

    torch.manual_seed(0)
    model = ResNetForImageClassification(ResNetConfig(num_labels=1000)).eval()
    # microsoft/resnet-50's processor: shorter side 256 (224 / 0.875), centre crop 224.
    processor = ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875)
    classify = hf("image-classification", model=model, image_processor=processor, device=-1)
    files = [str(p) for p in paths]
    classify(files[:BATCH], batch_size=BATCH)

    def run() -> int:
        return len(classify(files, batch_size=BATCH, top_k=5))

    return run


def timm_loop(name: str, paths: list[Path], workers: int) -> Callable[[], int]:
    import timm
    from timm.data import ImageDataset, create_transform, resolve_data_config

    model = timm.create_model(name, pretrained=False).eval()
    config = resolve_data_config({}, model=model)
    transform = create_transform(**config)
    folder = paths[0].parent
    dataset = ImageDataset(str(folder), transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, num_workers=workers)

    def run() -> int:
        done = 0
        with torch.inference_mode():
            for images, _ in loader:
                model(images).softmax(-1).topk(5)
                done += len(images)
        return done

    return run


TIMM_NAMES = {"resnet50": "resnet50", "mobilenet_v3_large": "mobilenetv3_large_100"}


def classification(args: argparse.Namespace, paths: list[Path], tmp: Path) -> list[dict]:
    from visiona.engine.export.onnx import export_onnx
    from visiona.models.load import load_model

    rows = []
    for name in args.models:
        torch.manual_seed(0)
        model = load_model(name, pretrained=False)
        onnx_path = tmp / f"{name}.onnx"
        export_onnx(model, onnx_path)
        batches = max(1, len(paths) // BATCH)
        variants: dict[str, Callable[[], int]] = {
            "ORT model only (ceiling)": ort_model_only(model.module, args.threads, batches),
            "visiona predict (onnx)": visiona_predict(load_model(str(onnx_path)), paths, None),
        }
        if not args.skip_torch:
            variants["visiona predict (torch eager)"] = visiona_predict(model, paths, "torch")
        if name == "resnet50" and not args.skip_hf:
            try:
                variants["HF pipeline (torch)"] = hf_pipeline(paths)
            except ImportError:
                print("transformers not installed: HF pipeline skipped")
        if not args.skip_timm:
            variants["timm loop (torch)"] = timm_loop(TIMM_NAMES[name], paths, args.workers)
        rows += measure(name, variants, args.repeats)
    return rows


def measure(model: str, variants: dict[str, Callable[[], int]], repeats: int) -> list[dict]:
    """Interleaved repeats (A B C, A B C, ...), so slow drifts hit every variant alike."""
    rates: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, run in variants.items():
            rates[label].append(timed(run))
            print(f"  {model:>20} | {label:<32} {rates[label][-1]:8.1f} img/s", flush=True)
    return [
        {"model": model, "variant": label, "images_per_s": statistics.median(values),
         "runs": values}
        for label, values in rates.items()
    ]  # fmt: skip


# --------------------------------------------------------------------------- detection


def yolo(args: argparse.Namespace, paths: list[Path], tmp: Path) -> list[dict]:
    try:
        from ultralytics import YOLO
    except ImportError:
        print("ultralytics not installed: YOLO comparison skipped")
        return []
    from visiona.engine.predict.predictor import Predictor
    from visiona.models.load import load_model

    torch.manual_seed(0)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    exported = Path(YOLO("yolo11n.yaml").export(format="onnx", imgsz=640, simplify=False))
    onnx_path = tmp / "yolo11n.onnx"
    onnx_path.write_bytes(exported.read_bytes())
    theirs = YOLO(str(onnx_path), task="detect")
    files = [str(p) for p in paths]
    theirs.predict(files[:2], imgsz=640, verbose=False)
    ours = Predictor(load_model(str(onnx_path), task="detect"), batch_size=1, device="cpu")
    ours.predict(paths[:2])

    def ultralytics_run() -> int:
        return sum(1 for _ in theirs.predict(files, imgsz=640, verbose=False, stream=True))

    def visiona_run() -> int:
        return len(ours.predict(paths))

    variants = {
        "ultralytics predict (onnx)": ultralytics_run,
        "visiona predict (onnx)": visiona_run,
    }
    return measure("yolo11n", variants, args.repeats)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet50", "mobilenet_v3_large"])
    parser.add_argument("--images", type=int, default=160, help="JPEGs in the folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for timm")
    parser.add_argument("--yolo", action="store_true", help="also compare with ultralytics")
    parser.add_argument("--no-classify", action="store_true", help="only the YOLO comparison")
    parser.add_argument("--skip-hf", action="store_true")
    parser.add_argument("--skip-timm", action="store_true")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="visiona-bench-") as name:
        tmp = Path(name)
        paths = make_folder(tmp / "images", args.images)
        rows = [] if args.no_classify else classification(args, paths, tmp)
        if args.yolo:
            rows += yolo(args, paths, tmp)
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    baselines = {
        row["model"]: row["images_per_s"]
        for row in rows
        if row["variant"].startswith(("ORT model only", "ultralytics"))
    }
    print(f"\n{args.images} JPEGs 500×375, batch {BATCH}, {args.threads} threads, "
          f"medians of {args.repeats} interleaved runs\n")  # fmt: skip
    print("| model | variant | images/s | vs baseline |")
    print("|---|---|---|---|")
    for row in rows:
        base = baselines.get(row["model"])
        ratio = f"{row['images_per_s'] / base:.2f}×" if base else ""
        print(f"| {row['model']} | {row['variant']} | {row['images_per_s']:.1f} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
