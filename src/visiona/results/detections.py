"""Detections: boxes (and optionally masks, keypoints and track ids) found in one image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw

from visiona.results.base import Result, as_array, register_result
from visiona.results.draw import color_for, draw_label_block, like_input, to_pil


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Uncompressed COCO RLE of a ``(H, W)`` boolean mask (column-major run lengths, 0s first)."""
    flat = np.asarray(mask, dtype=bool).reshape(-1, order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def rle_to_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """Inverse of :func:`mask_to_rle`: a ``(H, W)`` boolean mask."""
    height, width = rle["size"]
    values = np.zeros(len(rle["counts"]), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, rle["counts"])
    if flat.size != height * width:
        raise ValueError(f"RLE covers {flat.size} pixels, expected {height}×{width}")
    return flat.reshape((height, width), order="F")


KEYPOINT_COLUMNS = ("x", "y", "visibility")
"""The default meaning of a keypoint's 3 values: pixels, then COCO visibility."""


@register_result
@dataclass(frozen=True)
class Detections(Result):
    """Objects found in one image; boxes in absolute xyxy pixels of the original image.

    Attributes:
        xyxy: ``(N, 4)`` float32 boxes ``x0, y0, x1, y1``.
        scores: ``(N,)`` float32 confidences.
        class_ids: ``(N,)`` int64 class indices.
        names: Class index → label for the model's classes.
        masks: Optional ``(N, H, W)`` bool instance masks at image resolution.
        keypoints: Optional ``(N, K, 3)`` float32 per keypoint: ``x, y`` in pixels of the original
            image, then the column :attr:`keypoint_columns` names (``visibility``: COCO's 0 not
            labelled / 1 hidden / 2 visible, or 1 for every predicted point; ``score``: the
            model's confidence in the point).
        track_ids: Optional ``(N,)`` int64 tracker ids.
        source: Where the image came from, if known.
        image_size: ``(width, height)`` of the original image, if known.
        keypoint_columns: What the 3 values of each keypoint are (JSON: ``keypoint_columns``).
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    names: tuple[str, ...]
    masks: np.ndarray | None = None
    keypoints: np.ndarray | None = None
    track_ids: np.ndarray | None = None
    source: str | None = None
    image_size: tuple[int, int] | None = None
    keypoint_columns: tuple[str, str, str] = KEYPOINT_COLUMNS
    task: ClassVar[str] = "detect"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "xyxy", as_array(self.xyxy, np.float32, (4,)))
        set_(self, "scores", as_array(self.scores, np.float32))
        set_(self, "class_ids", as_array(self.class_ids, np.int64))
        set_(self, "names", tuple(self.names))
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,) or self.class_ids.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape}, "
                f"class_ids {self.class_ids.shape}"
            )
        if n and (np.any(self.class_ids < 0) or np.any(self.class_ids >= len(self.names))):
            raise ValueError(f"class ids must lie in [0, {len(self.names)})")
        if n and np.any(self.xyxy[:, 2:] < self.xyxy[:, :2]):
            raise ValueError("boxes must satisfy x1 >= x0 and y1 >= y0 (xyxy format)")
        if self.masks is not None:
            set_(self, "masks", np.asarray(self.masks, dtype=bool))
            if self.masks.ndim != 3 or len(self.masks) != n:
                raise ValueError(f"masks must be (N={n}, H, W), got {self.masks.shape}")
        if self.keypoints is not None:
            set_(self, "keypoints", as_array(self.keypoints, np.float32))
            if self.keypoints.ndim != 3 or len(self.keypoints) != n or self.keypoints.shape[2] != 3:
                raise ValueError(f"keypoints must be (N={n}, K, 3), got {self.keypoints.shape}")
        set_(self, "keypoint_columns", tuple(str(c) for c in self.keypoint_columns))
        if len(self.keypoint_columns) != 3 or self.keypoint_columns[:2] != ("x", "y"):
            raise ValueError(
                f"keypoint_columns must be ('x', 'y', <third>), got {self.keypoint_columns}"
            )
        if self.track_ids is not None:
            set_(self, "track_ids", as_array(self.track_ids, np.int64))
            if self.track_ids.shape != (n,):
                raise ValueError(f"track_ids must be (N={n},), got {self.track_ids.shape}")

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def labels(self) -> list[str]:
        return [self.names[i] for i in self.class_ids]

    def to_dict(self) -> dict[str, Any]:
        objects = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "box": [float(v) for v in self.xyxy[i]],
                "score": float(self.scores[i]),
                "class_id": int(self.class_ids[i]),
                "label": self.names[self.class_ids[i]],
            }
            if self.masks is not None:
                item["mask"] = mask_to_rle(self.masks[i])
            if self.keypoints is not None:
                item["keypoints"] = self.keypoints[i].tolist()
            if self.track_ids is not None:
                item["track_id"] = int(self.track_ids[i])
            objects.append(item)
        data = {
            "task": self.task,
            "source": self.source,
            "image_size": list(self.image_size) if self.image_size else None,
            "names": list(self.names),
            "objects": objects,
        }
        if self.keypoints is not None:  # each object's "keypoints" is a (K, 3) list of these
            data["keypoint_columns"] = list(self.keypoint_columns)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detections:
        objects: Sequence[Mapping[str, Any]] = data.get("objects", [])
        has = {
            key: bool(objects) and all(key in o for o in objects)
            for key in ("mask", "keypoints", "track_id")
        }
        image_size = data.get("image_size")
        return cls(
            xyxy=[o["box"] for o in objects],
            scores=[o["score"] for o in objects],
            class_ids=[o["class_id"] for o in objects],
            names=tuple(data.get("names", ())),
            masks=np.stack([rle_to_mask(o["mask"]) for o in objects]) if has["mask"] else None,
            keypoints=[o["keypoints"] for o in objects] if has["keypoints"] else None,
            track_ids=[o["track_id"] for o in objects] if has["track_id"] else None,
            source=data.get("source"),
            image_size=tuple(image_size) if image_size else None,
            keypoint_columns=tuple(data.get("keypoint_columns", KEYPOINT_COLUMNS)),
        )

    def numpy(self) -> dict[str, np.ndarray]:
        arrays = {"xyxy": self.xyxy, "scores": self.scores, "class_ids": self.class_ids}
        for key in ("masks", "keypoints", "track_ids"):
            if getattr(self, key) is not None:
                arrays[key] = getattr(self, key)
        return arrays

    def draw(self, image: Any, mask_alpha: float = 0.45) -> Any:
        """Boxes, labels, masks and keypoints drawn on a copy of ``image``."""
        canvas = to_pil(image)
        if self.masks is not None and len(self):
            overlay = np.asarray(canvas).astype(np.float32)
            for mask, class_id in zip(self.masks, self.class_ids, strict=True):
                if mask.shape == overlay.shape[:2]:
                    overlay[mask] = (1 - mask_alpha) * overlay[mask] + mask_alpha * np.array(
                        color_for(int(class_id)), dtype=np.float32
                    )
            canvas = Image.fromarray(overlay.round().astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        width = max(2, min(canvas.size) // 200)
        for i in range(len(self)):
            color = color_for(int(self.class_ids[i]))
            box = tuple(float(v) for v in self.xyxy[i])
            draw.rectangle(box, outline=color, width=width)
            if self.keypoints is not None:
                for x, y, visibility in self.keypoints[i]:
                    if visibility > 0:
                        draw.ellipse((x - width, y - width, x + width, y + width), fill=color)
            text = f"{self.names[self.class_ids[i]]} {self.scores[i]:.2f}"
            if self.track_ids is not None:
                text = f"#{self.track_ids[i]} {text}"
            draw_label_block(canvas, [text], origin=(int(box[0]), int(box[1])), color=color)
        return like_input(canvas, image)
