"""Light heads: fitted on vectors, one nn.Module with the backbone, rebuilt from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from visiona.engine.train.light_head import fit_head
from visiona.models.light_head import embedding_classifier


def _clusters(n_per_class: int = 20, dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(3, dim) * 3
    vectors = np.concatenate([c + rng.normal(0, 0.4, (n_per_class, dim)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.repeat(np.arange(3), n_per_class)
    return vectors.astype(np.float32), labels


@pytest.mark.parametrize("head", ["knn", "logistic", "linear"])
def test_each_head_separates_clusters(head: str) -> None:
    vectors, labels = _clusters()
    test_vectors, test_labels = _clusters(seed=1)
    tensors = fit_head(head, vectors, labels, 3, k=5)
    model = embedding_classifier(torch.nn.Identity(), head, 3, 8, len(vectors), 5)
    target = model if head == "knn" else model.head
    with torch.no_grad():
        for name, value in tensors.items():
            getattr(target, name).copy_(value)
    logits = model(torch.from_numpy(test_vectors))
    assert logits.shape == (60, 3)
    assert (logits.argmax(1).numpy() == test_labels).mean() >= 0.95


def test_logistic_with_two_classes_and_an_absent_class() -> None:
    vectors, labels = _clusters()
    keep = labels < 2
    tensors = fit_head("logistic", vectors[keep], labels[keep], 3)
    model = embedding_classifier(torch.nn.Identity(), "logistic", 3, 8)
    with torch.no_grad():
        model.head.weight.copy_(tensors["weight"])
        model.head.bias.copy_(tensors["bias"])
    predicted = model(torch.from_numpy(vectors[keep])).argmax(1).numpy()
    assert (predicted == labels[keep]).mean() >= 0.95
