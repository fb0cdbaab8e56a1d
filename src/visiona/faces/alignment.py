"""Face alignment: a 3-point affine warp of eyes and nose onto a common 150×150 frame.

The template places the landmarks where dlib's own face-chip extraction puts them (measured on
real faces with visiona's landmark definitions), so chips made here suit dlib's ResNet, while the
warp itself is the course's three-point affine (``cv2.getAffineTransform``): any detector that
finds both eyes and the nose tip (BlazeFace, dlib, MTCNN) can feed the recogniser.
"""

from __future__ import annotations

import numpy as np

from visiona.errors import UsageError
from visiona.models.packaged import require
from visiona.results.faces import FACE_LANDMARKS

CHIP_SIZE = 150
# (x, y) in a 150×150 chip for FACE_LANDMARKS: right eye, left eye, nose tip, mouth corners.
TEMPLATE_150 = np.array(
    [[47.0, 47.0], [101.0, 47.0], [74.0, 77.0], [45.8, 93.6], [102.2, 93.6]], dtype=np.float32
)
ALIGNMENT_POINTS = (0, 1, 2)  # eyes and nose tip


def alignment_matrix(landmarks: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """The ``(2, 3)`` affine matrix taking a face's eyes and nose to the template's.

    Args:
        landmarks: ``(5, 2)`` face landmarks in :data:`FACE_LANDMARKS` order (pixels).
        size: Side of the square output chip; the template scales with it.

    Raises:
        UsageError: The eyes or nose are missing (NaN), e.g. from the Haar detector.
    """
    points = np.asarray(landmarks, np.float32)[list(ALIGNMENT_POINTS)]
    if points.shape != (3, 2) or np.isnan(points).any():
        names = ", ".join(FACE_LANDMARKS[i] for i in ALIGNMENT_POINTS)
        raise UsageError(
            f"alignment needs the {names} landmarks; this detector does not give them",
            hint="use a detector with landmarks: blazeface, hog, cnn or mtcnn",
        )
    cv2 = require("cv2")
    target = TEMPLATE_150[list(ALIGNMENT_POINTS)] * (size / CHIP_SIZE)
    return cv2.getAffineTransform(points, target.astype(np.float32))


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """Warp one face of ``image`` (``(H, W, 3)`` uint8 RGB) to a ``(size, size, 3)`` chip."""
    cv2 = require("cv2")
    matrix = alignment_matrix(landmarks, size)
    return cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (size, size),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip


def align_faces(image: np.ndarray, landmarks: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """``(N, size, size, 3)`` uint8 chips for ``(N, 5, 2)`` landmarks of one image."""
    chips = [align_face(image, points, size) for points in landmarks]
    return np.asarray(chips, np.uint8).reshape(len(chips), size, size, 3)
