"""dlib face models (from ``dlib-bin`` + ``face-recognition-models``) as callables.

* :class:`DlibFaceDetector`: HOG + linear SVM (fast, frontal) or the CNN MMOD detector (slower,
  any pose), each followed by the 68-point shape predictor, reduced to the five visiona landmarks.
* :class:`DlibFaceEncoder`: the ResNet that maps an aligned 150×150 face chip to a 128-d
  embedding (same person: Euclidean distance below ~0.6).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from visiona.errors import UsageError
from visiona.models.packaged import packaged_file, require
from visiona.results.faces import Faces

EMBEDDING_SIZE = 128
CHIP_SIZE = 150
# 68-point indices: eyes 36-41 (image left, the subject's right) and 42-47, nose tip 30,
# mouth corners 48 (image left) and 54.
_RIGHT_EYE, _LEFT_EYE, _NOSE_TIP, _MOUTH_RIGHT, _MOUTH_LEFT = (
    slice(36, 42), slice(42, 48), 30, 48, 54,
)  # fmt: skip


def five_from_68(points: np.ndarray) -> np.ndarray:
    """``(68, 2)`` iBUG landmarks → ``(5, 2)`` eyes' centres, nose tip and mouth corners."""
    return np.stack(
        [
            points[_RIGHT_EYE].mean(axis=0),
            points[_LEFT_EYE].mean(axis=0),
            points[_NOSE_TIP],
            points[_MOUTH_RIGHT],
            points[_MOUTH_LEFT],
        ]
    ).astype(np.float32)


class DlibLandmarks:
    """dlib's 68-point shape predictor, reduced to the five visiona landmarks per box."""

    def __init__(self) -> None:
        dlib = require("dlib")
        self._predict = dlib.shape_predictor(str(packaged_file("dlib_shape.68")))
        self._rectangle = dlib.rectangle

    def __call__(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """``(N, 5, 2)`` landmarks for ``(N, 4)`` xyxy boxes in an ``(H, W, 3)`` uint8 RGB image."""
        landmarks = []
        for x0, y0, x1, y1 in np.round(boxes).astype(int).tolist():
            shape = self._predict(image, self._rectangle(x0, y0, x1, y1))
            points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
            landmarks.append(five_from_68(points))
        return np.asarray(landmarks, np.float32).reshape(len(landmarks), 5, 2)


class DlibFaceDetector:
    """dlib HOG or CNN (MMOD) face detector with 68-point landmarks.

    Args:
        kind: ``"hog"`` or ``"cnn"``.
        upsample: Times the image is doubled before detection (finds smaller faces, slower);
            default 1 for HOG (faces from ~40 px), 0 for the much slower CNN (~80 px).
        conf: Minimum score: the SVM margin for HOG (dlib's own default is 0; 0.3 keeps
            fewer false alarms), the MMOD confidence for CNN.
    """

    def __init__(
        self, kind: str = "hog", upsample: int | None = None, conf: float | None = None
    ) -> None:
        if kind not in ("hog", "cnn"):
            raise UsageError(f"unknown dlib detector {kind!r}; use hog or cnn")
        upsample = int(kind == "hog") if upsample is None else upsample
        if upsample < 0:
            raise UsageError(f"upsample must be 0 or more, got {upsample}")
        dlib = require("dlib")
        self.name, self.kind, self.upsample = f"dlib_{kind}", kind, upsample
        self.conf = (0.3 if kind == "hog" else 0.0) if conf is None else conf
        if kind == "hog":
            self._detector: Any = dlib.get_frontal_face_detector()
        else:
            self._detector = dlib.cnn_face_detection_model_v1(
                str(packaged_file("dlib_mmod.human_face"))
            )
        self._landmarks = DlibLandmarks()

    def _detect(self, image: np.ndarray) -> tuple[list[list[float]], list[float]]:
        if self.kind == "hog":
            rects, scores, _ = self._detector.run(image, self.upsample, self.conf)
            pairs = list(zip(rects, scores, strict=True))
        else:
            pairs = [(d.rect, d.confidence) for d in self._detector(image, self.upsample)]
        height, width = image.shape[:2]
        boxes, kept = [], []
        for rect, score in pairs:
            if score < self.conf:
                continue
            box = [rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1]
            boxes.append(np.clip(box, 0, [width, height, width, height]).tolist())
            kept.append(float(score))
        return boxes, kept

    def __call__(self, image: np.ndarray) -> Faces:
        """Faces in one ``(H, W, 3)`` uint8 RGB image."""
        image = np.ascontiguousarray(image)
        boxes, scores = self._detect(image)
        landmarks = self._landmarks(image, np.asarray(boxes, np.float32).reshape(-1, 4))
        return Faces(xyxy=boxes, scores=scores, landmarks=landmarks, backend=self.name)


class DlibFaceEncoder:
    """dlib's ResNet face embedding: aligned ``(150, 150, 3)`` uint8 RGB chips → 128-d vectors."""

    def __init__(self) -> None:
        dlib = require("dlib")
        self.name = "dlib_resnet.face_v1"
        self._model = dlib.face_recognition_model_v1(str(packaged_file("dlib_resnet.face_v1")))

    def __call__(self, chips: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """``(N, 128)`` float32 embeddings (unit-free; same person below ~0.6 apart)."""
        chips = [np.ascontiguousarray(chip, dtype=np.uint8) for chip in chips]
        for chip in chips:
            if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
                raise ValueError(f"face chips must be (150, 150, 3), got {chip.shape}")
        if not chips:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        vectors = self._model.compute_face_descriptor(chips)
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)
