"""Light heads on frozen EfficientNet-Lite0 embeddings of Fashion-MNIST (issue 14 numbers).

Embeds the first ``--train`` training images and ``--test`` test images of Fashion-MNIST once
(packaged ImageNet EfficientNet-Lite0, 224 px, offline), then fits kNN, logistic regression and
linear heads on the first 100 / 1,000 / 10,000 cached training vectors and scores them on the
test vectors. Fit time is the head alone, on cached vectors (what ``visiona train classify
--backbone ... --head ...`` spends on its second run).

Needs the Debian package dataset-fashion-mnist. Usage:
    .venv/bin/python bench/embed_heads.py [--train 10000] [--test 2000]
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

ROOT = Path("/usr/share/datasets/fashion-mnist")


def read_idx(name: str) -> np.ndarray:
    with gzip.open(ROOT / name) as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def embed(predictor, images: np.ndarray, batch: int = 256) -> np.ndarray:
    vectors = []
    for start in range(0, len(images), batch):
        chunk = [np.repeat(image[..., None], 3, axis=2) for image in images[start : start + batch]]
        vectors += [result.vector for result in predictor.predict(chunk)]
    return np.stack(vectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=2_000)
    args = parser.parse_args()

    import torch

    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.train.light_head import fit_head
    from visiona.models.light_head import embedding_classifier

    train_x = read_idx("train-images-idx3-ubyte.gz")[: args.train]
    train_y = read_idx("train-labels-idx1-ubyte.gz")[: args.train].astype(np.int64)
    test_x = read_idx("t10k-images-idx3-ubyte.gz")[: args.test]
    test_y = read_idx("t10k-labels-idx1-ubyte.gz")[: args.test].astype(np.int64)

    predictor = Predictor.load("efficientnet_lite0", task="embed", device="cpu", batch_size=64)
    start = time.perf_counter()
    train_v = embed(predictor, train_x)
    test_v = embed(predictor, test_x)
    seconds = time.perf_counter() - start
    total = len(train_v) + len(test_v)
    print(f"embedded {total} images in {seconds:.0f} s ({total / seconds:.1f} img/s), "
          f"{train_v.shape[1]}-d, torch threads {torch.get_num_threads()}")  # fmt: skip
    print("| training images | head | test accuracy | fit time |")
    print("|---:|---|---:|---:|")
    for count in (100, 1_000, 10_000):
        if count > len(train_v):
            continue
        for head in ("knn", "logistic", "linear"):
            start = time.perf_counter()
            tensors = fit_head(head, train_v[:count], train_y[:count], 10, regularization=10.0)
            fit = time.perf_counter() - start
            model = embedding_classifier(torch.nn.Identity(), head, 10, train_v.shape[1], count)
            target = model if head == "knn" else model.head
            with torch.no_grad():
                for name, value in tensors.items():
                    getattr(target, name).copy_(value)
                predicted = model(torch.from_numpy(test_v)).argmax(1).numpy()
            accuracy = float((predicted == test_y).mean())
            print(f"| {count:,} | {head} | {accuracy:.2%} | {fit:.2f} s |")


if __name__ == "__main__":
    main()
