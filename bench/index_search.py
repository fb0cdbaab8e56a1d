"""Similarity index numbers (issue 14): build throughput, search latency/recall, near-duplicates.

1. Build: ``build_index`` over ``--build-images`` Fashion-MNIST PNGs (EfficientNet-Lite0), then
   an incremental rebuild after adding one image.
2. Search: synthetic clustered unit vectors (``--dim``), 100k and 1M: p50 latency of one query
   for the FAISS index ``kind=auto`` would pick (HNSW past 20,000) and IVF, against brute-force
   numpy, and recall@10 against the exact answer.
3. Near-duplicates: skimage photos plus planted copies (half size, JPEG quality 30, 5 % crop);
   recall of the planted groups and false groups at the default threshold.

Usage: .venv/bin/python bench/index_search.py [--build-images 2000] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def build_numbers(count: int) -> None:
    from bench_support import fashion_images
    from PIL import Image

    from visiona.engine.embed.index import build_index

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for number, image in enumerate(fashion_images(count + 1)):
            target = folder / f"{number:05d}.png"
            Image.fromarray(image).save(target if number < count else Path(tmp) / "extra.png")
        start = time.perf_counter()
        report = build_index(folder, Path(tmp) / "f.index", device="cpu", batch_size=64)
        seconds = time.perf_counter() - start
        print(f"build: {len(report.index)} images in {seconds:.1f} s = "
              f"{len(report.index) / seconds:.1f} img/s ({report.index.kind})")  # fmt: skip
        (Path(tmp) / "extra.png").rename(folder / "extra.png")
        start = time.perf_counter()
        again = build_index(folder, Path(tmp) / "f.index", device="cpu")
        print(f"incremental rebuild (+1 image): {time.perf_counter() - start:.1f} s, "
              f"embedded {again.embedded}, reused {again.reused}")  # fmt: skip


def clustered(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 1000, count)] + rng.normal(0, 0.6, (count, dim)).astype(
        np.float32
    )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def search_numbers(sizes: list[int], dim: int, queries: int = 200) -> None:
    from visiona.engine.embed.index import make_faiss_index

    print("| vectors | index | build | p50 latency / query | recall@10 |")
    print("|---:|---|---:|---:|---:|")
    for count in sizes:
        vectors = clustered(count, dim)
        rng = np.random.default_rng(1)
        query = vectors[rng.integers(0, count, queries)] + rng.normal(0, 0.05, (queries, dim))
        query = (query / np.linalg.norm(query, axis=1, keepdims=True)).astype(np.float32)
        times = []
        truth = []
        for row in query:
            start = time.perf_counter()
            scores = vectors @ row
            top = np.argpartition(-scores, 10)[:10]
            truth.append(set(top[np.argsort(-scores[top])].tolist()))
            times.append(time.perf_counter() - start)
        print(f"| {count:,} | brute-force numpy | – | {np.median(times) * 1e3:.2f} ms | 1.000 |")
        kinds = ["hnsw", "ivf"] if count <= 200_000 else ["ivf"]
        for kind in kinds:
            start = time.perf_counter()
            index, _ = make_faiss_index(vectors, kind)
            build = time.perf_counter() - start
            times, found = [], []
            for row in query:
                start = time.perf_counter()
                _, ids = index.search(row[None], 10)
                times.append(time.perf_counter() - start)
                found.append(set(ids[0].tolist()))
            recall = np.mean([len(a & b) / 10 for a, b in zip(truth, found, strict=True)])
            print(f"| {count:,} | faiss {kind} | {build:.0f} s | {np.median(times) * 1e3:.3f} ms "
                  f"| {recall:.3f} |")  # fmt: skip


def duplicate_numbers() -> None:
    from PIL import Image
    from skimage import data

    from visiona.engine.embed.index import build_index, duplicate_groups

    names = ["astronaut", "chelsea", "coffee", "rocket", "camera", "horse", "moon", "page",
             "retina", "hubble_deep_field", "immunohistochemistry", "text", "brick", "grass",
             "gravel", "colorwheel", "logo", "clock"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        kept = []
        for name in names:
            array = getattr(data, name)()
            if array.dtype != np.uint8:
                array = (array.astype(float) / array.max() * 255).astype(np.uint8)
            if array.ndim == 2:
                array = np.stack([array] * 3, axis=-1)
            Image.fromarray(array[..., :3]).save(folder / f"{name}.png")
            kept.append(name)
        planted = kept[:6]
        for name in planted:
            image = Image.open(folder / f"{name}.png")
            w, h = image.size
            image.resize((w // 2, h // 2)).save(folder / f"{name}-small.png")
            image.save(folder / f"{name}-q30.jpg", quality=30)
            image.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(
                folder / f"{name}-crop.png"
            )
        index = build_index(folder, Path(tmp) / "d.index", device="cpu").index
        for threshold in (0.7, 0.75, 0.8, 0.9):
            groups = duplicate_groups(index, threshold)
            stems = [{Path(index.entries[r]["path"]).name.split("-")[0].split(".")[0]
                      for r in group} for group in groups]  # fmt: skip
            false_groups = sum(len(stem) > 1 for stem in stems)
            found = sum(any(stem == {name} and len(group) == 4 for stem, group in
                            zip(stems, groups, strict=True)) for name in planted)  # fmt: skip
            print(
                f"threshold {threshold}: {found}/{len(planted)} planted groups complete, "
                f"{false_groups} false groups, {len(groups)} groups among {len(index)} images"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-images", type=int, default=2000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--skip", default="", help="comma list of build,search,duplicates")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    if "duplicates" not in skip:
        duplicate_numbers()
    if "search" not in skip:
        search_numbers([int(s) for s in args.sizes.split(",")], args.dim)
    if "build" not in skip:
        build_numbers(args.build_images)


if __name__ == "__main__":
    main()
