"""OpenCV's Haar-cascade frontal face detector (Viola-Jones), the classic course baseline."""

from __future__ import annotations

import numpy as np

from visiona.errors import UsageError
from visiona.models.packaged import packaged_file, require
from visiona.results.faces import Faces


class HaarFaceDetector:
    """Haar cascade (``haarcascade_frontalface_default.xml``); boxes only, no landmarks.

    Args:
        scale_factor: Image pyramid step (> 1; smaller is slower and finds more).
        min_neighbors: Overlapping raw hits a face needs; more means fewer false alarms.
        min_size: Smallest face side in pixels.
        conf: Minimum level weight (the cascade's last-stage score; 0 keeps all).
    """

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
        conf: float = 0.0,
    ) -> None:
        if scale_factor <= 1.0:
            raise UsageError(f"scale factor must be above 1, got {scale_factor}")
        cv2 = require("cv2")
        self.name = "haar"
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.conf = min_size, conf
        self._cascade = cv2.CascadeClassifier(str(packaged_file("haar.frontalface_default")))
        if self._cascade.empty():
            raise UsageError("the Haar cascade file could not be read by OpenCV")
        self._gray = lambda image: cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

    def __call__(self, image: np.ndarray) -> Faces:
        """Faces in one ``(H, W, 3)`` uint8 RGB image."""
        gray = self._gray(np.ascontiguousarray(image))
        found, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        boxes = np.asarray(found, np.float32).reshape(-1, 4)
        scores = np.asarray(weights, np.float32).reshape(-1)
        keep = scores >= self.conf
        boxes, scores = boxes[keep], scores[keep]
        boxes[:, 2:] += boxes[:, :2]  # xywh → xyxy
        return Faces(xyxy=boxes, scores=scores, backend=self.name)
