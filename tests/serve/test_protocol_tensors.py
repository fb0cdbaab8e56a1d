"""Results → protocol output tensors for every task, checked against the declared metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest

from visiona.results.classification import Classification
from visiona.results.detections import Detections
from visiona.results.faces import Faces
from visiona.results.keypoints import Keypoints
from visiona.results.matte import Matte
from visiona.serve.protocols.tensors import batch_outputs, output_specs


def _detections(n: int, keypoints: bool = False) -> Detections:
    rng = np.random.default_rng(n)
    xy = rng.uniform(0, 50, (n, 2))
    return Detections(
        xyxy=np.concatenate([xy, xy + 5], axis=1), scores=np.linspace(0.9, 0.5, n),
        class_ids=np.arange(n) % 2, names=("cat", "dog"),
        keypoints=rng.uniform(0, 50, (n, 17, 3)) if keypoints and n else None,
        image_size=(64, 64),
    )  # fmt: skip


def _keypoints(n: int) -> Keypoints:
    return Keypoints(
        points=np.ones((n, 4, 3)), visibility=np.ones((n, 4)), scores=np.ones(n),
        names=("a", "b", "c", "d"), edges=np.array([[0, 1]]),
    )  # fmt: skip


CASES = {
    "classify": lambda i: Classification.from_probabilities(
        np.array([0.1, 0.6, 0.3]), ("a", "b", "c"), top_k=2
    ),
    "detect": lambda i: _detections(i + 1),
    "keypoints": lambda i: _detections(i, keypoints=True),  # the first image finds nothing
    "faces": lambda i: Faces(xyxy=np.zeros((i, 4)), scores=np.ones(i)),  # no landmarks: NaN
    "pose": lambda i: _keypoints(i + 1),
    "matting": lambda i: Matte(alpha=np.full((6, 8), 0.5, np.float32)),
}


@pytest.mark.parametrize("task", sorted(CASES))
def test_outputs_match_the_declared_shapes_and_types(task):
    results = [CASES[task](i) for i in range(3)]
    specs = output_specs(task)
    outputs = batch_outputs(results, task, [spec.name for spec in specs])
    assert list(outputs) == [spec.name for spec in specs]
    objects = sum(len(r.scores) for r in results) if task not in ("classify", "matting") else None
    for spec in specs:
        array = outputs[spec.name]
        assert array.ndim == len(spec.shape), spec
        for size, declared in zip(array.shape, spec.shape, strict=True):
            assert declared in (-1, size), spec
        assert array.shape[0] == (objects if spec.per_object else 3), spec
        kind = {"FP32": "f", "INT64": "i", "BYTES": "O"}[spec.datatype]
        assert array.dtype.kind == kind, spec
    assert [json.loads(r)["task"] for r in outputs["result"]] == [r.task for r in results]
    if "image_index" in outputs:
        counts = [len(r.scores) for r in results]
        assert outputs["image_index"].tolist() == np.repeat(np.arange(3), counts).tolist()


def test_detection_labels_follow_class_ids_and_a_ragged_alpha_is_refused():
    outputs = batch_outputs([_detections(3)], "detect", ["labels", "class_ids", "boxes"])
    assert outputs["labels"].tolist() == ["cat", "dog", "cat"]
    assert outputs["boxes"].dtype == np.float32 and outputs["boxes"].shape == (3, 4)
    mattes = [Matte(alpha=np.zeros((4, 4))), Matte(alpha=np.zeros((5, 4)))]
    with pytest.raises(ValueError, match="one image per request"):
        batch_outputs(mattes, "matting", ["alpha"])
    assert len(batch_outputs(mattes, "matting", ["result"])["result"]) == 2
