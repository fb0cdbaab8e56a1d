"""Keypoints: landmark sets (body pose, hands, face mesh) with named points and skeleton edges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import ImageDraw

from visiona.results.base import Result, as_array, register_result
from visiona.results.draw import color_for, draw_label_block, like_input, to_pil

POINT_COLUMNS = ("x", "y", "z")
"""The 3 values of each point: pixels of the original image, then relative depth."""


@register_result
@dataclass(frozen=True)
class Keypoints(Result):
    """Landmark sets found in one image (one instance per person, hand or face).

    Attributes:
        points: ``(N, K, 3)`` float32 ``x, y`` in pixels of the original image and ``z`` depth
            relative to the instance (MediaPipe's scale: roughly the same units as ``x``).
        visibility: ``(N, K)`` float32 in [0, 1]: how likely each point is visible (1 where the
            model does not predict it).
        scores: ``(N,)`` float32 confidence per instance (e.g. handedness probability).
        names: ``(K,)`` point names, e.g. ``"nose"``, ``"wrist"`` (``"p0"``... for face meshes).
        edges: ``(E, 2)`` int64 pairs of point indices forming the skeleton.
        labels: Optional label per instance (``"Left"``/``"Right"`` for hands).
        kind: What the points describe: ``"pose"``, ``"hands"`` or ``"facemesh"``.
        model: Model that produced the points.
        source: Where the image came from, if known.
        image_size: ``(width, height)`` of the original image, if known.
    """

    points: np.ndarray
    visibility: np.ndarray
    scores: np.ndarray
    names: tuple[str, ...]
    edges: np.ndarray
    labels: tuple[str, ...] | None = None
    kind: str = "pose"
    model: str = ""
    source: str | None = None
    image_size: tuple[int, int] | None = None
    task: ClassVar[str] = "keypoints"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "names", tuple(self.names))
        k = len(self.names)
        set_(self, "points", as_array(self.points, np.float32, (k, 3)))
        set_(self, "visibility", as_array(self.visibility, np.float32, (k,)))
        set_(self, "scores", as_array(self.scores, np.float32))
        set_(self, "edges", as_array(self.edges, np.int64, (2,)))
        n = len(self.points)
        if self.points.shape != (n, k, 3) or self.visibility.shape != (n, k):
            raise ValueError(
                f"Keypoints arrays disagree with {k} names: points {self.points.shape}, "
                f"visibility {self.visibility.shape}"
            )
        if self.scores.shape != (n,):
            raise ValueError(f"scores must be (N={n},), got {self.scores.shape}")
        if self.edges.ndim != 2 or self.edges.shape[1] != 2:
            raise ValueError(f"edges must be (E, 2), got {self.edges.shape}")
        if len(self.edges) and (self.edges.min() < 0 or self.edges.max() >= k):
            raise ValueError(f"edge indices must lie in [0, {k})")
        if self.labels is not None:
            set_(self, "labels", tuple(self.labels))
            if len(self.labels) != n:
                raise ValueError(f"labels must name N={n} instances, got {len(self.labels)}")

    def __len__(self) -> int:
        return len(self.points)

    def point(self, name: str, instance: int = 0) -> np.ndarray:
        """``(3,)`` ``x, y, z`` of the point called ``name`` in one instance."""
        return self.points[instance, self.names.index(name)]

    def to_dict(self) -> dict[str, Any]:
        instances = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "score": float(self.scores[i]),
                "points": np.round(self.points[i], 3).tolist(),
                "visibility": np.round(self.visibility[i], 4).tolist(),
            }
            if self.labels is not None:
                item["label"] = self.labels[i]
            instances.append(item)
        return {
            "task": self.task,
            "kind": self.kind,
            # Each instance's "points" is (K, 3) of these; visibility is its own (K,) list.
            "point_columns": list(POINT_COLUMNS),
            "model": self.model,
            "source": self.source,
            "image_size": list(self.image_size) if self.image_size else None,
            "names": list(self.names),
            "edges": self.edges.tolist(),
            "instances": instances,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Keypoints:
        instances: Sequence[Mapping[str, Any]] = data.get("instances", [])
        has_labels = bool(instances) and all("label" in item for item in instances)
        image_size = data.get("image_size")
        return cls(
            points=[item["points"] for item in instances],
            visibility=[item["visibility"] for item in instances],
            scores=[item["score"] for item in instances],
            names=tuple(data["names"]),
            edges=data.get("edges", []),
            labels=tuple(item["label"] for item in instances) if has_labels else None,
            kind=data.get("kind", "pose"),
            model=data.get("model", ""),
            source=data.get("source"),
            image_size=tuple(image_size) if image_size else None,
        )

    def numpy(self) -> dict[str, np.ndarray]:
        return {
            "points": self.points,
            "visibility": self.visibility,
            "scores": self.scores,
            "edges": self.edges,
        }

    def draw(self, image: Any, min_visibility: float = 0.5) -> Any:
        """Skeleton edges and points (those visible enough) drawn on a copy of ``image``."""
        canvas = to_pil(image)
        draw = ImageDraw.Draw(canvas)
        dense = len(self.names) > 100  # face meshes: thin lines, tiny points
        width = 1 if dense else max(2, min(canvas.size) // 250)
        radius = 1 if dense else width + 1
        for i in range(len(self)):
            color = color_for(i + 2)
            xy, visible = self.points[i, :, :2], self.visibility[i] >= min_visibility
            for a, b in self.edges:
                if visible[a] and visible[b]:
                    draw.line((*map(float, xy[a]), *map(float, xy[b])), fill=color, width=width)
            for (x, y), shown in zip(xy.tolist(), visible, strict=True):
                if shown:
                    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
            if self.labels is not None and visible.any():
                x0, y0 = xy[visible].min(axis=0)
                text = f"{self.labels[i]} {self.scores[i]:.2f}"
                draw_label_block(
                    canvas, [text], origin=(int(x0), max(0, int(y0) - 30)), color=color
                )
        return like_input(canvas, image)
