"""A model's results as named output tensors, shared by the KServe v2 and TF-Serving protocols.

Per task, the outputs are (``B`` images, ``N`` objects over all images, ``K`` top classes):

* classify: ``labels`` BYTES ``[B, K]``, ``scores`` FP32 ``[B, K]``, ``class_ids`` INT64 ``[B, K]``.
* detect, segment-instances, keypoints: ``boxes`` FP32 ``[N, 4]`` (xyxy pixels), ``scores`` FP32
  ``[N]``, ``class_ids`` INT64 ``[N]``, ``labels`` BYTES ``[N]``, ``image_index`` INT64 ``[N]``
  (which image each object belongs to) and, for keypoints, ``keypoints`` FP32 ``[N, P, 3]``.
* faces: ``boxes``, ``scores``, ``landmarks`` FP32 ``[N, 5, 2]``, ``image_index``.
* pose, hands, facemesh: ``points`` FP32 ``[N, P, 3]``, ``visibility`` FP32 ``[N, P]``,
  ``scores`` FP32 ``[N]``, ``image_index``.
* matting: ``alpha`` FP32 ``[B, H, W]`` (images of one size per request).
* every task: ``result`` BYTES ``[B]``, visiona's JSON result per image (``Result.to_dict()``).

Instance masks are in ``result`` only (run-length encoded).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OutputSpec", "batch_outputs", "image_outputs", "output_specs", "to_json_safe"]

_DETECT_TASKS = ("detect", "segment-instances", "keypoints")
_POINT_TASKS = ("pose", "hands", "facemesh")


@dataclass(frozen=True)
class OutputSpec:
    """One output tensor's metadata: ``shape`` uses -1 for sizes known only per request."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    per_object: bool  # first dimension counts objects (concatenated over images), not images


def output_specs(task: str) -> list[OutputSpec]:
    """The outputs a model of ``task`` answers with, in order (``result`` last)."""
    if task == "classify":
        specs = [
            OutputSpec("labels", "BYTES", (-1, -1), False),
            OutputSpec("scores", "FP32", (-1, -1), False),
            OutputSpec("class_ids", "INT64", (-1, -1), False),
        ]
    elif task in _DETECT_TASKS:
        specs = [
            OutputSpec("boxes", "FP32", (-1, 4), True),
            OutputSpec("scores", "FP32", (-1,), True),
            OutputSpec("class_ids", "INT64", (-1,), True),
            OutputSpec("labels", "BYTES", (-1,), True),
        ]
        if task == "keypoints":
            specs.append(OutputSpec("keypoints", "FP32", (-1, -1, 3), True))
        specs.append(OutputSpec("image_index", "INT64", (-1,), True))
    elif task == "faces":
        specs = [
            OutputSpec("boxes", "FP32", (-1, 4), True),
            OutputSpec("scores", "FP32", (-1,), True),
            OutputSpec("landmarks", "FP32", (-1, 5, 2), True),
            OutputSpec("image_index", "INT64", (-1,), True),
        ]
    elif task in _POINT_TASKS:
        specs = [
            OutputSpec("points", "FP32", (-1, -1, 3), True),
            OutputSpec("visibility", "FP32", (-1, -1), True),
            OutputSpec("scores", "FP32", (-1,), True),
            OutputSpec("image_index", "INT64", (-1,), True),
        ]
    elif task == "matting":
        specs = [OutputSpec("alpha", "FP32", (-1, -1, -1), False)]
    else:
        specs = []
    return [*specs, OutputSpec("result", "BYTES", (-1,), False)]


def _strings(values: Any) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def image_outputs(result: Any, task: str) -> dict[str, np.ndarray]:
    """One image's outputs (no ``image_index``); BYTES outputs are object arrays of ``str``.

    Shapes are the per-image ones: ``[K]`` for classify, ``[n, ...]`` for objects, ``[H, W]``.
    """
    arrays: dict[str, np.ndarray] = {}
    if task == "classify":
        arrays = {
            "labels": _strings(result.labels),
            "scores": np.asarray(result.probabilities, np.float32),
            "class_ids": np.asarray(result.class_ids, np.int64),
        }
    elif task in _DETECT_TASKS:
        arrays = {
            "boxes": np.asarray(result.xyxy, np.float32).reshape(-1, 4),
            "scores": np.asarray(result.scores, np.float32),
            "class_ids": np.asarray(result.class_ids, np.int64),
            "labels": _strings(result.names[i] for i in result.class_ids),
        }
        if task == "keypoints":
            found = result.keypoints is not None and len(result.xyxy) > 0
            points = result.keypoints if found else np.zeros((0, 0, 3))
            arrays["keypoints"] = np.asarray(points, np.float32)
    elif task == "faces":
        landmarks = result.landmarks
        if landmarks is None:
            landmarks = np.full((len(result.xyxy), 5, 2), np.nan)
        arrays = {
            "boxes": np.asarray(result.xyxy, np.float32).reshape(-1, 4),
            "scores": np.asarray(result.scores, np.float32),
            "landmarks": np.asarray(landmarks, np.float32).reshape(-1, 5, 2),
        }
    elif task in _POINT_TASKS:
        arrays = {
            "points": np.asarray(result.points, np.float32),
            "visibility": np.asarray(result.visibility, np.float32),
            "scores": np.asarray(result.scores, np.float32),
        }
    elif task == "matting":
        arrays = {"alpha": np.asarray(result.alpha, np.float32)}
    arrays["result"] = np.array([json.dumps(to_json_safe(result.to_dict()))], dtype=object)
    return arrays


def batch_outputs(results: list[Any], task: str, names: list[str]) -> dict[str, np.ndarray]:
    """The outputs ``names`` for a batch of results (see the module docstring for the shapes).

    Raises:
        ValueError: A per-image output whose shape differs between the images (matting alpha of
            differently sized images): the message says to send one image per request.
    """
    specs = {spec.name: spec for spec in output_specs(task)}
    per_image = [image_outputs(result, task) for result in results]
    outputs: dict[str, np.ndarray] = {}
    for name in names:
        spec = specs[name]
        if name == "result":
            outputs[name] = np.concatenate([arrays["result"] for arrays in per_image])
        elif name == "image_index":
            counts = [len(arrays["scores"]) for arrays in per_image]
            outputs[name] = np.repeat(np.arange(len(results), dtype=np.int64), counts)
        elif spec.per_object:
            parts = [arrays[name] for arrays in per_image]
            tail = max((p.shape[1:] for p in parts if len(p)), default=parts[0].shape[1:])
            parts = [p if len(p) else p.reshape(0, *tail) for p in parts]
            outputs[name] = np.concatenate(parts) if parts else np.zeros((0,))
        else:
            shapes = {arrays[name].shape for arrays in per_image}
            if len(shapes) > 1:
                raise ValueError(
                    f"output {name!r} has a different shape for each image {sorted(shapes)}; "
                    "send one image per request, or ask only for 'result'"
                )
            outputs[name] = np.stack([arrays[name] for arrays in per_image])
    return outputs


def to_json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None`` and numpy scalars/arrays as plain Python."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: to_json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_safe(item) for item in value]
    return value
