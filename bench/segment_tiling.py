"""Tiled segmentation: peak memory on a 4000×3000 image, and seams (tiled vs whole image).

1. Predicts a 4000×3000 synthetic image with ``--tile 512 --overlap 64`` and reports the
   process's peak resident memory during the call (and before it, for the baseline).
2. Predicts a 1024² image whole (``tile=0``) and tiled; the IoU between the two class maps
   (mIoU over classes) says whether seams show (1.0 = identical).

Usage: .venv/bin/python bench/segment_tiling.py -m runs/segment/NAME/best
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    from visiona.data.segmentation.synthetic import synthesize
    from visiona.engine.benchmark import _PeakMemory
    from visiona.engine.predict.predictor import Predictor
    from visiona.metrics.segmentation import image_iou
    from visiona.models.load import load_model

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument(
        "--random-init", action="store_true", help="MODEL is an architecture: random weights"
    )
    parser.add_argument("--width", type=int, default=16, help="unet_tiny width (random init)")
    parser.add_argument("--skip-large", action="store_true", help="only the seam check")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    args = parser.parse_args()
    if args.random_init:
        options = {"width": args.width} if args.model == "unet_tiny" else None
        model = load_model(args.model, task="segment", pretrained=False, num_classes=4,
                           arch_options=options)  # fmt: skip
    else:
        model = load_model(args.model, task="segment")
    predictor = Predictor(model, workers=0, batch_size=1)
    rng = np.random.default_rng(0)
    small, _ = synthesize(rng, 1024)
    large = np.tile(small, (3, 4, 1))[:3000, :4000]
    predictor.predict(small[:256, :256])  # warm up (allocations, thread pools)
    report: dict = {}
    if not args.skip_large:
        with _PeakMemory() as memory:
            baseline = memory.peak_mib
            start = time.perf_counter()
            (big,) = predictor.predict(large, tile=args.tile, overlap=args.overlap)
            seconds = time.perf_counter() - start
        report = {
            "rss_before_mib": round(baseline, 1),
            "rss_peak_mib": round(memory.peak_mib, 1),
            "seconds_4000x3000": round(seconds, 1),
            "classes_found_4000x3000": [n for n, a in big.areas.items() if a],
        }
    options = {"probabilities": True}
    (whole,) = predictor.predict(small, tile=0, **options)
    (tiled,) = predictor.predict(small, tile=args.tile, overlap=args.overlap, **options)
    classes = len(model.weights.class_names)
    report["tiled_vs_whole_1024_max_prob_diff"] = round(
        float(np.abs(whole.probabilities - tiled.probabilities).max()), 6
    )
    print(json.dumps({**report,
        "model": args.model,
        "image": "4000x3000",
        "tile": args.tile,
        "overlap": args.overlap,
        "tiled_vs_whole_1024_miou": round(image_iou(tiled.class_map, whole.class_map, classes), 5),
        "tiled_vs_whole_1024_pixel_agreement": round(
            float((tiled.class_map == whole.class_map).mean()), 5
        ),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
