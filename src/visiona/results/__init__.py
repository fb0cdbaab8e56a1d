"""Typed, validated results for every task; ``to_dict()`` is the JSON/REST schema."""

from visiona.results.base import Result, register_result, result_from_dict
from visiona.results.classification import Classification
from visiona.results.detections import Detections, mask_to_rle, rle_to_mask
from visiona.results.explanation import Explanation
from visiona.results.faces import FACE_LANDMARKS, Faces
from visiona.results.keypoints import Keypoints
from visiona.results.matte import Matte

__all__ = [
    "FACE_LANDMARKS",
    "Classification",
    "Detections",
    "Explanation",
    "Faces",
    "Keypoints",
    "Matte",
    "Result",
    "mask_to_rle",
    "register_result",
    "result_from_dict",
    "rle_to_mask",
]
