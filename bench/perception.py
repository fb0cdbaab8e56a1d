"""Per-image latency of every packaged perception backend on the astronaut photo (512×512).

Each model is built once, warmed up on one call, then timed over ``--runs`` calls; the median is
reported (the CNN face detector gets at most 3 runs: it takes seconds per image). Also times the
recognition pipeline (detect + align + embed) and the embedding alone.

    python bench/perception.py --runs 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

CASES = [
    ("faces", "blazeface"), ("faces", "blazeface_full"), ("faces", "hog"), ("faces", "cnn"),
    ("faces", "haar"), ("faces", "mtcnn"), ("pose", "lite"), ("pose", "full"), ("pose", "heavy"),
    ("hands", "mediapipe"), ("facemesh", "mediapipe"), ("matting", "general"),
    ("matting", "landscape"),
]  # fmt: skip


def median_ms(call: Callable[[], Any], runs: int) -> float:
    call()  # warm-up: first-call graph/allocator set-up is not per-image cost
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from skimage import data

    from visiona.faces.alignment import align_face
    from visiona.faces.recognizer import FaceRecognizer
    from visiona.tasks.base import get_task

    image = np.ascontiguousarray(data.astronaut())
    print(f"astronaut 512×512, median of {args.runs} runs after one warm-up\n")
    print("| task | backend | ms/image |\n|---|---|---|")
    for task, backend in CASES:
        model = get_task(task).build(backend)
        runs = min(args.runs, 3) if backend == "cnn" else args.runs
        print(f"| {task} | {backend} | {median_ms(lambda m=model: m(image), runs):.1f} |")
    recognizer = FaceRecognizer("hog")
    faces = recognizer.detector(image)
    chip = align_face(image, faces.landmarks[0])
    embed_ms = median_ms(lambda: recognizer.encoder([chip]), args.runs)
    print(f"| recognition | align + dlib ResNet embedding (1 face) | "
          f"{median_ms(lambda: align_face(image, faces.landmarks[0]), args.runs) + embed_ms:.1f} |")  # fmt: skip
    print(f"| recognition | hog detect + align + embed | "
          f"{median_ms(lambda: recognizer.encode(image), args.runs):.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
