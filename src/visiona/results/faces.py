"""Faces: boxes, scores, five landmarks and (after recognition) identities found in one image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import ImageDraw

from visiona.results.base import Result, as_array, register_result
from visiona.results.draw import color_for, draw_label_block, like_input, to_pil

FACE_LANDMARKS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
"""The five landmarks, named from the subject's point of view (the right eye appears on the
image's left in a frontal photo). A backend that does not predict a point leaves it NaN."""


def _optional_point(point: Sequence[float]) -> list[float] | None:
    return None if np.isnan(point).any() else [float(point[0]), float(point[1])]


@register_result
@dataclass(frozen=True)
class Faces(Result):
    """Faces found in one image; boxes in absolute xyxy pixels of the original image.

    Attributes:
        xyxy: ``(N, 4)`` float32 boxes ``x0, y0, x1, y1``.
        scores: ``(N,)`` float32 detector scores (the scale depends on the backend: a
            probability for BlazeFace and MTCNN, a margin for dlib, a level weight for Haar).
        landmarks: ``(N, 5, 2)`` float32 ``x, y`` pixels in :data:`FACE_LANDMARKS` order; NaN
            where the backend does not predict that point (Haar predicts none).
        identities: Optional name per face after recognition (``"unknown"`` for no match).
        distances: Optional ``(N,)`` float32 embedding distance to the matched gallery face.
        track_ids: Optional ``(N,)`` int64 tracker ids (video with ``--track``).
        backend: Detector that produced the faces.
        source: Where the image came from, if known.
        image_size: ``(width, height)`` of the original image, if known.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray | None = None
    identities: tuple[str, ...] | None = None
    distances: np.ndarray | None = None
    backend: str = ""
    track_ids: np.ndarray | None = None
    source: str | None = None
    image_size: tuple[int, int] | None = None
    task: ClassVar[str] = "faces"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "xyxy", as_array(self.xyxy, np.float32, (4,)))
        set_(self, "scores", as_array(self.scores, np.float32))
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,):
            raise ValueError(
                f"Faces arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape}"
            )
        if n and np.any(self.xyxy[:, 2:] < self.xyxy[:, :2]):
            raise ValueError("boxes must satisfy x1 >= x0 and y1 >= y0 (xyxy format)")
        if self.landmarks is None:
            set_(self, "landmarks", np.full((n, len(FACE_LANDMARKS), 2), np.nan, np.float32))
        set_(self, "landmarks", as_array(self.landmarks, np.float32, (len(FACE_LANDMARKS), 2)))
        if self.landmarks.shape != (n, len(FACE_LANDMARKS), 2):
            raise ValueError(f"landmarks must be (N={n}, 5, 2), got {self.landmarks.shape}")
        if self.identities is not None:
            set_(self, "identities", tuple(self.identities))
            if len(self.identities) != n:
                raise ValueError(f"identities must name N={n} faces, got {len(self.identities)}")
        if self.distances is not None:
            set_(self, "distances", as_array(self.distances, np.float32))
            if self.distances.shape != (n,):
                raise ValueError(f"distances must be (N={n},), got {self.distances.shape}")
        if self.track_ids is not None:
            set_(self, "track_ids", as_array(self.track_ids, np.int64))
            if self.track_ids.shape != (n,):
                raise ValueError(f"track_ids must be (N={n},), got {self.track_ids.shape}")

    def __len__(self) -> int:
        return len(self.xyxy)

    def to_dict(self) -> dict[str, Any]:
        faces = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "box": [float(v) for v in self.xyxy[i]],
                "score": float(self.scores[i]),
                "landmarks": {
                    name: _optional_point(point)
                    for name, point in zip(FACE_LANDMARKS, self.landmarks[i], strict=True)
                },
            }
            if self.identities is not None:
                item["identity"] = self.identities[i]
            if self.distances is not None:
                item["distance"] = float(self.distances[i])
            if self.track_ids is not None:
                item["track_id"] = int(self.track_ids[i])
            faces.append(item)
        return {
            "task": self.task,
            "backend": self.backend,
            "source": self.source,
            "image_size": list(self.image_size) if self.image_size else None,
            "faces": faces,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faces:
        faces: Sequence[Mapping[str, Any]] = data.get("faces", [])
        landmarks = [
            [face["landmarks"].get(name) or [np.nan, np.nan] for name in FACE_LANDMARKS]
            for face in faces
        ]
        has_identity = bool(faces) and all("identity" in face for face in faces)
        has_distance = bool(faces) and all("distance" in face for face in faces)
        has_track = bool(faces) and all("track_id" in face for face in faces)
        image_size = data.get("image_size")
        return cls(
            xyxy=[face["box"] for face in faces],
            scores=[face["score"] for face in faces],
            landmarks=landmarks,
            identities=tuple(face["identity"] for face in faces) if has_identity else None,
            distances=[face["distance"] for face in faces] if has_distance else None,
            backend=data.get("backend", ""),
            track_ids=[face["track_id"] for face in faces] if has_track else None,
            source=data.get("source"),
            image_size=tuple(image_size) if image_size else None,
        )

    def numpy(self) -> dict[str, np.ndarray]:
        arrays = {"xyxy": self.xyxy, "scores": self.scores, "landmarks": self.landmarks}
        if self.distances is not None:
            arrays["distances"] = self.distances
        if self.track_ids is not None:
            arrays["track_ids"] = self.track_ids
        return arrays

    def draw(self, image: Any) -> Any:
        """Boxes, landmarks and names (or scores) drawn on a copy of ``image``."""
        canvas = to_pil(image)
        draw = ImageDraw.Draw(canvas)
        width = max(2, min(canvas.size) // 200)
        for i in range(len(self)):
            known = self.identities is not None and self.identities[i] != "unknown"
            color = color_for(1 if known else 0)
            box = tuple(float(v) for v in self.xyxy[i])
            draw.rectangle(box, outline=color, width=width)
            for point in self.landmarks[i]:
                if not np.isnan(point).any():
                    x, y = float(point[0]), float(point[1])
                    draw.ellipse((x - width, y - width, x + width, y + width), fill=(0, 255, 255))
            text = f"face {self.scores[i]:.2f}"
            if self.identities is not None:
                text = self.identities[i]
                if self.distances is not None:
                    text += f" ({self.distances[i]:.2f})"
            if self.track_ids is not None:
                text = f"#{self.track_ids[i]} {text}"
            draw_label_block(canvas, [text], origin=(int(box[0]), int(box[1])), color=color)
        return like_input(canvas, image)
