"""FaceRecognizer: detect faces, align them and embed them with dlib's ResNet.

``encode(image)`` returns the :class:`Faces` found and one 128-d embedding per face, in the
same order; galleries, identification, verification and evaluation are all built on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from visiona import defaults
from visiona.errors import UsageError
from visiona.faces.alignment import align_faces
from visiona.results.faces import Faces

DEFAULT_DETECTOR = "hog"
DEFAULT_THRESHOLD = defaults.SAME_PERSON_DISTANCE


@dataclass(frozen=True)
class EncodedFaces:
    """Faces of one image with their aligned chips and embeddings.

    Attributes:
        faces: Detections (boxes, scores, landmarks).
        chips: ``(N, 150, 150, 3)`` uint8 aligned face chips.
        embeddings: ``(N, 128)`` float32 embeddings.
    """

    faces: Faces
    chips: np.ndarray
    embeddings: np.ndarray

    def largest(self) -> int | None:
        """Index of the face with the largest box, or None without faces."""
        if not len(self.faces):
            return None
        sides = self.faces.xyxy[:, 2:] - self.faces.xyxy[:, :2]
        return int(np.argmax(sides[:, 0] * sides[:, 1]))


class FaceRecognizer:
    """Detector + aligner + dlib ResNet encoder.

    Args:
        detector: Face detector backend with eye and nose landmarks: ``hog`` (default),
            ``cnn``, ``blazeface``, ``blazeface_full`` or ``mtcnn``. Use the same one for the
            gallery and the queries: landmark definitions differ slightly between detectors.
        **detector_options: Passed to the detector (``conf``...).
    """

    def __init__(self, detector: str = DEFAULT_DETECTOR, **detector_options: Any) -> None:
        from visiona.models.dlib_models import DlibFaceEncoder
        from visiona.tasks.perception import FacesTask

        if detector == "haar":
            raise UsageError(
                "the haar detector gives no landmarks, so its faces cannot be aligned",
                hint="use --detector hog, cnn, blazeface, blazeface_full or mtcnn",
            )
        self.detector_name = detector
        self.detector = FacesTask().build(detector, **detector_options)
        self.encoder = DlibFaceEncoder()

    def encode(self, image: np.ndarray) -> EncodedFaces:
        """Faces, aligned chips and embeddings of one ``(H, W, 3)`` uint8 RGB image."""
        faces = self.detector(image)
        chips = align_faces(image, faces.landmarks)
        return EncodedFaces(faces=faces, chips=chips, embeddings=self.encoder(list(chips)))


def distances(query: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(Q, R)`` between ``(Q, D)`` queries and ``(R, D)`` references."""
    query = np.asarray(query, np.float32).reshape(-1, references.shape[-1])
    return np.linalg.norm(query[:, None, :] - references[None, :, :], axis=-1)
