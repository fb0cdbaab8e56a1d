"""Few-image segmentation: 4 labelled 512² images, random-crop training for a fixed time
budget, then mIoU on the 20 held-out images; from scratch vs the offline pretrained encoder.

Each run trains until ``--budget`` CPU-seconds of this process have passed (the epoch in progress finishes), then
the best checkpoint (by mIoU on 2 of the held-out images, checked every epoch) is evaluated on
all 20 held-out images. Prints one JSON line per run and a Markdown table.

Usage: .venv/bin/python bench/segment_few_images.py [--budget 300] [--runs scratch,pretrained]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightning.pytorch as pl

RUNS = {
    "unet_tiny": {"model": "unet_tiny", "pretrained": False},
    "scratch": {"model": "unet", "arch_options": {"encoder": "efficientnet_lite0"}},
    "pretrained": {
        "model": "unet",
        "arch_options": {"encoder": "efficientnet_lite0"},
        "pretrained": True,
    },
}


class TimeBudget(pl.Callback):
    """Stop after the epoch during which ``seconds`` of this process's CPU time ran out.

    CPU time, not wall time: on a shared machine the wall clock measures the neighbours.
    ``seconds`` CPU-seconds are ``seconds / 2`` wall seconds on an otherwise idle 2-core CPU.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.process_time()
        self.wall = time.perf_counter()
        self.curve: list[tuple[float, float, float]] = []  # (CPU s, wall s, val mIoU)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # After the epoch's validation (callbacks' validation hooks run before the module logs).
        miou = float(trainer.callback_metrics.get("val/miou", 0.0))
        cpu = time.process_time() - self.start
        self.curve.append(
            (round(cpu, 1), round(time.perf_counter() - self.wall, 1), round(miou, 4))
        )
        if cpu > self.seconds:
            trainer.should_stop = True


def make_data(root: Path) -> Path:
    from visiona.data.segmentation.synthetic import make_segment_shapes

    full = root / "shapes-seg"
    if not (full / "dataset.json").is_file():
        make_segment_shapes(full, train_images=4, val_images=20, image_size=512, seed=0)
    quick = root / "shapes-seg-quickval"  # train on the 4, pick checkpoints on 2 held-out
    if not quick.exists():
        for split, names in (("train", None), ("val", ("0000", "0001"))):
            for kind in ("images", "masks"):
                (quick / split / kind).mkdir(parents=True)
                for path in sorted((full / split / kind).iterdir()):
                    if names is None or path.stem in names:
                        (quick / split / kind / path.name).symlink_to(path)
        (quick / "dataset.json").symlink_to(full / "dataset.json")
    return full


def run(name: str, root: Path, budget: float, crops: int, crop: int) -> dict:
    from visiona.engine.evaluate.segment import evaluate_segmenter
    from visiona.engine.train.config import TrainConfig
    from visiona.engine.train.fit import train
    from visiona.models.load import load_model

    values = {
        "task": "segment", "data": str(root / "shapes-seg-quickval"), "epochs": 1000,
        "crop": crop, "crops_per_epoch": crops, "batch_size": 8, "lr": 3e-3,
        "schedule": "none", "project": str(root / "runs"), "name": name, **RUNS[name],
    }  # fmt: skip
    budget_cb = TimeBudget(budget)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train(TrainConfig.from_dict(values), progress=False, callbacks=[budget_cb])
    train_seconds = time.perf_counter() - start
    train_cpu = time.process_time() - cpu_start
    start = time.perf_counter()
    model = load_model(str(result.best_checkpoint), task="segment")
    evaluation = evaluate_segmenter(model, root / "shapes-seg", subset="val", tile=512)
    return {
        "run": name,
        "model": values["model"],
        "encoder": values.get("arch_options", {}).get("encoder", "-"),
        "pretrained": bool(values.get("pretrained")),
        "epochs": result.epochs_run,
        "train_wall_s": round(train_seconds, 1),
        "train_cpu_s": round(train_cpu, 1),
        "heldout_images": evaluation.num_images,
        "heldout_miou": round(evaluation.report.miou, 4),
        "heldout_pixel_acc": round(evaluation.report.pixel_accuracy, 4),
        "eval_s": round(time.perf_counter() - start, 1),
        "curve": budget_cb.curve,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("/tmp/visiona-bench-segment"))
    parser.add_argument("--budget", type=float, default=600.0, help="CPU-seconds per run")
    parser.add_argument("--runs", default="scratch,pretrained")
    parser.add_argument("--crops-per-epoch", type=int, default=64)
    parser.add_argument("--crop", type=int, default=128)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    make_data(args.root)
    rows = []
    for name in args.runs.split(","):
        row = run(name, args.root, args.budget, args.crops_per_epoch, args.crop)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(
        "| run | model | pretrained | epochs | train CPU s | train wall s | held-out mIoU "
        "| pixel acc |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['model']} ({r['encoder']}) | {r['pretrained']} | {r['epochs']} "
              f"| {r['train_cpu_s']} | {r['train_wall_s']} | {r['heldout_miou']} | {r['heldout_pixel_acc']} |")  # fmt: skip


if __name__ == "__main__":
    main()
