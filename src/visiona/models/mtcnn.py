"""MTCNN face detection (P-Net → R-Net → O-Net cascade) with the weights facenet-pytorch ships."""

from __future__ import annotations

import numpy as np

from visiona.errors import UsageError
from visiona.models.packaged import packaged_file, require
from visiona.results.faces import Faces


class MtcnnDetector:
    """facenet-pytorch's MTCNN: boxes, probabilities and five landmarks (eyes, nose, mouth).

    Args:
        conf: Minimum face probability from the last stage (O-Net).
        min_face_size: Smallest face side in pixels the pyramid looks for.
        device: Torch device for the three small networks.
    """

    def __init__(self, conf: float = 0.9, min_face_size: int = 20, device: str = "cpu") -> None:
        if not 0.0 <= conf <= 1.0:
            raise UsageError(f"conf must lie in [0, 1], got {conf}")
        require("facenet_pytorch")
        packaged_file("mtcnn.onet")  # fail early, with the install command, if the file is gone
        from facenet_pytorch import MTCNN

        self.name, self.conf = "mtcnn", conf
        self._model = MTCNN(keep_all=True, min_face_size=min_face_size, device=device)

    def __call__(self, image: np.ndarray) -> Faces:
        """Faces in one ``(H, W, 3)`` uint8 RGB image."""
        height, width = image.shape[:2]
        boxes, probs, points = self._model.detect(np.ascontiguousarray(image), landmarks=True)
        if boxes is None:
            return Faces(xyxy=np.zeros((0, 4)), scores=[], backend=self.name)
        keep = np.asarray(probs, np.float32) >= self.conf
        boxes = np.clip(np.asarray(boxes, np.float32)[keep], 0, [width, height, width, height])
        # MTCNN's order is image-left eye, image-right eye, nose, mouth left, mouth right: the
        # subject's right eye first, as in FACE_LANDMARKS.
        return Faces(
            xyxy=boxes,
            scores=np.asarray(probs, np.float32)[keep],
            landmarks=np.asarray(points, np.float32)[keep],
            backend=self.name,
        )
