"""A seeded synthetic COCO evaluation set: ground-truth JSON, results list and visiona inputs.

Categories have arbitrary COCO ids (visiona ids are their 0-based order); some images have no
objects, some objects are crowd regions (RLE masks), one class has no ground truth and one no
predictions; one image has more than 100 detections; scores never tie. Coordinates are multiples
of 1/4 pixel so float32 (visiona) and float64 (pycocotools) hold the same boxes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

CATEGORY_IDS = (3, 7, 11, 20, 42)
CATEGORY_NAMES = ("cat", "dog", "bird", "fish", "frog")
NO_GT_CATEGORY = 42  # predicted, never labelled: AP -1
NO_PRED_CATEGORY = 20  # labelled, never predicted: AP 0


@dataclass
class CocoCase:
    """One evaluation set in COCO form plus everything needed to build visiona inputs."""

    gt_json: Path
    results: list[dict[str, Any]]  # COCO results (bbox and segmentation for every detection)
    detections: list[dict[str, np.ndarray]]  # per image: xyxy, scores, class_ids, masks
    images: list[dict[str, Any]]  # the JSON image entries, in order


def quarter(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64) * 4) / 4


def octagon(box: np.ndarray) -> list[float]:
    """An octagon inscribed in ``box`` (corners cut by a quarter of the side), quarter pixels."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = quarter((x1 - x0) / 4), quarter((y1 - y0) / 4)
    points = [x0 + dx, y0, x1 - dx, y0, x1, y0 + dy, x1, y1 - dy,
              x1 - dx, y1, x0 + dx, y1, x0, y1 - dy, x0, y0 + dy]  # fmt: skip
    return [float(v) for v in points]


def raster(polygon: list[float], height: int, width: int) -> np.ndarray:
    rles = mask_utils.frPyObjects([polygon], height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def random_box(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    side = rng.choice([rng.uniform(6, 30), rng.uniform(35, 90), rng.uniform(100, 160)], 2)
    x0 = rng.uniform(0, width - side[0] - 1)
    y0 = rng.uniform(0, height - side[1] - 1)
    return quarter([x0, y0, x0 + side[0], y0 + side[1]])


def jitter(rng: np.random.Generator, box: np.ndarray, width: int, height: int) -> np.ndarray:
    size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
    moved = box + rng.normal(0, 0.06, 4) * size
    moved = np.clip(moved, 0, [width - 1, height - 1, width - 1, height - 1])
    moved[2:] = np.maximum(moved[2:], moved[:2] + 3)
    return quarter(moved)


def build_case(folder: Path, *, area: str = "box", seed: int = 0) -> CocoCase:
    """Write the ground-truth JSON (``area`` = ``"box"``: w·h, ``"mask"``: mask pixels)."""
    rng = np.random.default_rng(seed)
    images, annotations, per_image = [], [], []
    for index in range(14):
        width, height = int(rng.integers(200, 330)), int(rng.integers(180, 260))
        image_id = 1000 + 7 * index
        images.append({"id": image_id, "file_name": f"img{index}.jpg",
                       "width": width, "height": height})  # fmt: skip
        count = 0 if index in (2, 5, 9) else int(rng.integers(1, 7))
        boxes, dets = [], []
        for _ in range(count):
            box = random_box(rng, width, height)
            crowd = bool(rng.random() < 0.12)
            category = int(rng.choice(CATEGORY_IDS[:4]))
            poly = octagon(box)
            if crowd:  # crowd regions come as uncompressed RLE, like COCO's
                mask = np.zeros((height, width), dtype=bool)
                x0, y0, x1, y1 = np.round(box).astype(int)
                mask[y0:y1, x0:x1] = True
                flat = mask.reshape(-1, order="F")
                edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
                runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
                segmentation: Any = {"size": [height, width], "counts": runs}
                mask_area = float(mask.sum())
            else:
                segmentation = [poly]
                mask = raster(poly, height, width)
                mask_area = float(mask.sum())
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                "bbox": [float(box[0]), float(box[1]), w, h], "iscrowd": int(crowd),
                "area": w * h if area == "box" else mask_area, "segmentation": segmentation,
            })  # fmt: skip
            boxes.append((box, category))
        # Detections: most objects found (some with the wrong class), plus false positives.
        for box, category in boxes:
            if category != NO_PRED_CATEGORY and rng.random() < 0.85:
                wrong = rng.random() < 0.15
                cat = int(rng.choice(CATEGORY_IDS)) if wrong else category
                dets.append((jitter(rng, box, width, height), cat))
        extra = 110 if index == 4 else int(rng.integers(0, 4))
        for _ in range(extra):
            cat = int(rng.choice([c for c in CATEGORY_IDS if c != NO_PRED_CATEGORY]))
            dets.append((random_box(rng, width, height), cat))
        per_image.append((image_id, width, height, dets))
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": c, "name": n} for c, n in zip(CATEGORY_IDS, CATEGORY_NAMES, strict=True)]}  # fmt: skip
    gt_json = folder / "instances_val.json"
    gt_json.write_text(json.dumps(gt, indent=1))

    total = sum(len(d) for *_, d in per_image)
    scores = ((rng.permutation(total) + 1) / (total + 1)).astype(np.float32)  # no ties
    results, detections, cursor = [], [], 0
    for image_id, width, height, dets in per_image:
        xyxy = np.array([b for b, _ in dets], dtype=np.float32).reshape(-1, 4)
        score = scores[cursor : cursor + len(dets)]
        cursor += len(dets)
        ids = np.array([CATEGORY_IDS.index(c) for _, c in dets], dtype=np.int64)
        masks = np.zeros((len(dets), height, width), dtype=bool)
        for i, (box, category) in enumerate(dets):
            masks[i] = raster(octagon(box), height, width)
            rle = mask_utils.encode(np.asfortranarray(masks[i].astype(np.uint8)))
            x0, y0, x1, y1 = (float(v) for v in box)
            results.append({
                "image_id": image_id, "category_id": category, "score": float(score[i]),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
            })  # fmt: skip
        detections.append({"xyxy": xyxy, "scores": score, "class_ids": ids, "masks": masks})
    return CocoCase(gt_json, results, detections, images)
