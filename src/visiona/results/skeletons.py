"""Point names and skeleton edges of the MediaPipe body-pose (33) and hand (21) landmark sets."""

from __future__ import annotations

POSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

# Face outline, then each arm with its hand, the torso, and each leg with its foot.
POSE_EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 12), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (27, 31), (29, 31),
    (24, 26), (26, 28), (28, 30), (28, 32), (30, 32),
)  # fmt: skip

_FINGERS = ("thumb", "index_finger", "middle_finger", "ring_finger", "pinky")
_JOINTS = {"thumb": ("cmc", "mcp", "ip", "tip")}
HAND_NAMES = (
    "wrist",
    *(
        f"{finger}_{joint}"
        for finger in _FINGERS
        for joint in _JOINTS.get(finger, ("mcp", "pip", "dip", "tip"))
    ),
)

# Each finger is a chain of four points starting at the palm; the palm joins the knuckles.
HAND_EDGES = (
    *(
        edge
        for base in range(1, 21, 4)
        for edge in ((base, base + 1), (base + 1, base + 2), (base + 2, base + 3))
    ),
    (0, 1), (0, 5), (5, 9), (9, 13), (13, 17), (0, 17),
)  # fmt: skip
