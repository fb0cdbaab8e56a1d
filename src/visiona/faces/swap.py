"""Face swap between two aligned faces: warp one face onto another's and blend the seam.

Both faces are aligned to the same 150×150 template (:mod:`visiona.faces.alignment`), so the
source chip is mapped into the target photo with the inverse of the target's alignment. An
ellipse over eyes, nose and mouth in template coordinates is the blend mask, and OpenCV's Poisson
blending (``seamlessClone``) matches the skin tone at its border.
"""

from __future__ import annotations

import numpy as np

from visiona.faces.alignment import CHIP_SIZE, align_face, alignment_matrix
from visiona.models.packaged import require

# Ellipse in template coordinates: centre between the eyes and the mouth, wide enough for the
# cheeks, from the eyebrows to the chin.
_CENTER, _AXES = (74, 78), (52, 62)


def face_mask(size: int = CHIP_SIZE) -> np.ndarray:
    """``(size, size)`` uint8 mask (255 inside) of the face region in template coordinates."""
    cv2 = require("cv2")
    mask = np.zeros((size, size), np.uint8)
    scale = size / CHIP_SIZE
    center = tuple(round(v * scale) for v in _CENTER)
    axes = tuple(round(v * scale) for v in _AXES)
    cv2.ellipse(mask, center, axes, 0, 0, 360, 255, thickness=-1)
    return mask


def swap_face(
    source: np.ndarray,
    source_landmarks: np.ndarray,
    target: np.ndarray,
    target_landmarks: np.ndarray,
    size: int = 256,
) -> np.ndarray:
    """``target`` with its face replaced by the face of ``source``.

    Args:
        source: ``(H, W, 3)`` uint8 RGB image with the face to copy.
        source_landmarks: ``(5, 2)`` landmarks of that face (eyes and nose needed).
        target: ``(H2, W2, 3)`` uint8 RGB image whose face is replaced.
        target_landmarks: ``(5, 2)`` landmarks of the face to replace.
        size: Side of the intermediate aligned chip (larger keeps more detail).

    Returns:
        A new ``(H2, W2, 3)`` uint8 RGB image; the inputs are not modified.
    """
    cv2 = require("cv2")
    height, width = target.shape[:2]
    chip = align_face(source, source_landmarks, size)
    back = cv2.invertAffineTransform(alignment_matrix(target_landmarks, size))
    warped = cv2.warpAffine(chip, back, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(face_mask(size), back, (width, height), flags=cv2.INTER_NEAREST)
    mask[[0, -1], :] = 0  # seamlessClone needs the mask clear of the image border
    mask[:, [0, -1]] = 0
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return np.array(target, copy=True)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    center = (int((x0 + x1 + 1) // 2), int((y0 + y1 + 1) // 2))
    blended = cv2.seamlessClone(
        np.ascontiguousarray(warped[..., ::-1]), np.ascontiguousarray(target[..., ::-1]),
        mask, center, cv2.NORMAL_CLONE,
    )  # fmt: skip
    return np.ascontiguousarray(blended[..., ::-1])
