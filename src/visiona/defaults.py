"""Default thresholds shared by the Python API, the CLI, the REST server and the web page.

One place, so ``visiona predict detect``, ``POST /v1/models/{name}:predict`` and the page's
sliders start from the same numbers (the server reads them from the tasks' signatures, which
use these constants; the CLI options use them directly).
"""

from __future__ import annotations

TOP_K = 5
"""Classes reported per image (classification)."""

DETECT_CONF = 0.25
"""Detections scoring below this are dropped (detection, instance segmentation, keypoints)."""

DETECT_IOU = 0.7
"""Class-aware NMS IoU threshold (1.0 switches NMS off)."""

DETECT_MAX_DET = 100
"""At most this many detections per image."""

MASK_THRESHOLD = 0.5
"""Mask probability above which a pixel belongs to an instance."""

PERCEPTION_CONF = 0.5
"""Minimum detection score of the MediaPipe perception graphs (faces, pose, hands, face mesh)."""

MATTING_THRESHOLD = 0.5
"""Alpha above which a pixel is the person (selfie segmentation)."""

SAME_PERSON_DISTANCE = 0.6
"""dlib's published same-person distance for its 128-d face embedding."""
