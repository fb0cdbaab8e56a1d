"""MediaPipe 0.10.21 solutions as callables: RGB image in, typed visiona result out.

These are MediaPipe graphs running TF-Lite models, not torch modules, so each wrapper owns one
graph and turns its protobuf outputs into :class:`Faces`, :class:`Keypoints` or :class:`Matte`.
Model files are located through their Weights records first, so a missing package fails with
the install command instead of MediaPipe's own download attempt. The pose lite/heavy models ship
in the npm package ``@mediapipe/pose``, not in the wheel: the pose graph is built with its model
path pointing at that file (MediaPipe would otherwise try to download it into site-packages).
Graphs run in static-image mode: no tracking or smoothing between consecutive images.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from visiona import defaults
from visiona.errors import UsageError
from visiona.models.packaged import packaged_file, require
from visiona.quiet import native_stderr_filtered
from visiona.results.faces import Faces
from visiona.results.keypoints import Keypoints
from visiona.results.matte import Matte
from visiona.results.skeletons import HAND_EDGES, HAND_NAMES, POSE_EDGES, POSE_NAMES

POSE_COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
_POSE_GRAPH = "mediapipe/modules/pose_landmark/pose_landmark_cpu.binarypb"
_POSE_MODEL_NODE = "poselandmarkbyroicpu__poselandmarkmodelloader__switchcontainer__ConstantSidePacketCalculator_{}"


def _rgb(image: np.ndarray) -> np.ndarray:
    """MediaPipe wants a C-contiguous ``(H, W, 3)`` uint8 RGB array."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def _check_confidence(value: float, name: str = "conf") -> float:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name} must lie in [0, 1], got {value}")
    return value


def _quietly(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with fd 2 filtered, also while the graph's threads finish starting up."""

    @functools.wraps(method)
    def wrapper(self: _Solution, *args: Any, **kwargs: Any) -> Any:
        with native_stderr_filtered():
            result = method(self, *args, **kwargs)
            # Calculators open on the graph's own threads after start_run (TF-Lite logs then).
            graph = getattr(self._solution, "_graph", None)
            if graph is not None:
                graph.wait_until_idle()
            return result

    return wrapper


class _Solution:
    """Owns one MediaPipe graph; :meth:`close` (or ``with``) stops it.

    There is deliberately no ``__del__``: closing a graph from the garbage collector can
    deadlock (the graph's threads call back into Python while ``close`` waits for them).
    """

    _solution: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # MediaPipe/TF-Lite log from C++ to fd 2 while a graph starts and runs: filter it.
        super().__init_subclass__(**kwargs)
        for name in ("__init__", "__call__"):
            if name in cls.__dict__:
                setattr(cls, name, _quietly(cls.__dict__[name]))

    def close(self) -> None:
        if self._solution is not None:
            with native_stderr_filtered():
                self._solution.close()
            self._solution = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlazeFaceDetector(_Solution):
    """MediaPipe BlazeFace: boxes, scores and eyes/nose (its mouth point is the centre only).

    Args:
        model: ``"short_range"`` (faces within ~2 m, 128×128 input) or ``"full_range"`` (~5 m).
        conf: Minimum detection score in [0, 1].
    """

    def __init__(self, model: str = "short_range", conf: float = defaults.PERCEPTION_CONF) -> None:
        if model not in ("short_range", "full_range"):
            raise UsageError(f"unknown BlazeFace model {model!r}; use short_range or full_range")
        require("mediapipe")
        packaged_file(f"blazeface.{model}")
        from mediapipe.python.solutions.face_detection import FaceDetection

        self.name = f"blazeface.{model}"
        self._solution = FaceDetection(
            model_selection=int(model == "full_range"),
            min_detection_confidence=_check_confidence(conf),
        )

    def __call__(self, image: np.ndarray) -> Faces:
        """Faces in one ``(H, W, 3)`` uint8 RGB image."""
        height, width = image.shape[:2]
        output = self._solution.process(_rgb(image))
        boxes, scores, landmarks = [], [], []
        for detection in output.detections or []:
            box = detection.location_data.relative_bounding_box
            x0, y0 = box.xmin * width, box.ymin * height
            x1, y1 = x0 + box.width * width, y0 + box.height * height
            boxes.append(np.clip([x0, y0, x1, y1], 0, [width, height, width, height]))
            scores.append(detection.score[0])
            points = detection.location_data.relative_keypoints
            # BlazeFace points: right eye, left eye, nose tip, mouth centre, ear tragions.
            five = [[p.x * width, p.y * height] for p in points[:3]] + [[np.nan, np.nan]] * 2
            landmarks.append(five)
        return Faces(xyxy=boxes, scores=scores, landmarks=landmarks, backend=self.name)


class _PoseGraph:
    """The MediaPipe pose graph with its landmark model read from an explicit file."""

    def __new__(cls, complexity: int, model_file: str, conf: float) -> Any:
        from mediapipe.calculators.core import constant_side_packet_calculator_pb2 as constant
        from mediapipe.python.solution_base import SolutionBase

        packet = constant.ConstantSidePacketCalculatorOptions.ConstantSidePacket(
            string_value=model_file
        )
        return SolutionBase(
            binary_graph_path=_POSE_GRAPH,
            side_inputs={
                "model_complexity": complexity,
                "smooth_landmarks": False,
                "enable_segmentation": False,
                "smooth_segmentation": False,
                "use_prev_landmarks": False,
            },
            calculator_params={
                f"{_POSE_MODEL_NODE.format(complexity + 1)}.packet": [packet],
                "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": conf,
            },
            outputs=["pose_landmarks"],
        )


class PoseLandmarker(_Solution):
    """MediaPipe Pose (BlazePose): 33 body landmarks with visibility for the main person.

    Args:
        complexity: ``"lite"``, ``"full"`` or ``"heavy"`` landmark model.
        conf: Minimum person-detection score in [0, 1].
    """

    def __init__(self, complexity: str = "full", conf: float = defaults.PERCEPTION_CONF) -> None:
        if complexity not in POSE_COMPLEXITY:
            raise UsageError(f"unknown pose complexity {complexity!r}; use lite, full or heavy")
        require("mediapipe")
        model_file = packaged_file(f"mediapipe_pose.{complexity}")
        self.name = f"mediapipe_pose.{complexity}"
        self._solution = _PoseGraph(
            POSE_COMPLEXITY[complexity], str(model_file), _check_confidence(conf)
        )

    def __call__(self, image: np.ndarray) -> Keypoints:
        """Pose of the most prominent person in one ``(H, W, 3)`` uint8 RGB image (0 or 1)."""
        height, width = image.shape[:2]
        output = self._solution.process(_rgb(image))
        points, visibility = [], []
        if output.pose_landmarks is not None:
            marks = output.pose_landmarks.landmark
            points.append([[m.x * width, m.y * height, m.z * width] for m in marks])
            visibility.append([m.visibility for m in marks])
        return Keypoints(
            points=points, visibility=visibility,
            scores=[float(np.mean(v)) for v in visibility],  # the graph gives no pose score
            names=POSE_NAMES, edges=POSE_EDGES, kind="pose", model=self.name,
        )  # fmt: skip


class HandLandmarker(_Solution):
    """MediaPipe Hands: 21 landmarks and handedness per hand.

    Args:
        max_hands: Most hands to report.
        conf: Minimum palm-detection score in [0, 1].
        mirrored: MediaPipe labels handedness as if the image were a mirrored selfie. For an
            ordinary photo (``False``, the default) the label is swapped so that it names the
            person's own hand; pass ``True`` for mirrored webcam frames.
    """

    def __init__(
        self, max_hands: int = 2, conf: float = defaults.PERCEPTION_CONF, mirrored: bool = False
    ) -> None:
        if max_hands < 1:
            raise UsageError(f"max hands must be at least 1, got {max_hands}")
        require("mediapipe")
        packaged_file("mediapipe_hands.full")
        from mediapipe.python.solutions.hands import Hands

        self.name = "mediapipe_hands.full"
        self.mirrored = mirrored
        self._solution = Hands(
            static_image_mode=True,
            max_num_hands=max_hands,
            model_complexity=1,
            min_detection_confidence=_check_confidence(conf),
        )

    def __call__(self, image: np.ndarray) -> Keypoints:
        """Hands in one ``(H, W, 3)`` uint8 RGB image."""
        height, width = image.shape[:2]
        output = self._solution.process(_rgb(image))
        points, scores, labels = [], [], []
        swap = {"Left": "Right", "Right": "Left"}
        hands = output.multi_hand_landmarks or []
        for marks, handedness in zip(hands, output.multi_handedness or [], strict=True):
            points.append([[m.x * width, m.y * height, m.z * width] for m in marks.landmark])
            best = handedness.classification[0]
            scores.append(best.score)
            labels.append(best.label if self.mirrored else swap.get(best.label, best.label))
        return Keypoints(
            points=points, visibility=np.ones((len(points), len(HAND_NAMES))), scores=scores,
            names=HAND_NAMES, edges=HAND_EDGES, labels=tuple(labels), kind="hands",
            model=self.name,
        )  # fmt: skip


class FaceMeshLandmarker(_Solution):
    """MediaPipe Face Mesh with attention: 478 landmarks (468 face + 10 iris) per face.

    Args:
        max_faces: Most faces to report.
        conf: Minimum face-detection score in [0, 1].
    """

    def __init__(self, max_faces: int = 1, conf: float = defaults.PERCEPTION_CONF) -> None:
        if max_faces < 1:
            raise UsageError(f"max faces must be at least 1, got {max_faces}")
        require("mediapipe")
        packaged_file("mediapipe_facemesh.attention")
        from mediapipe.python.solutions import face_mesh_connections as connections
        from mediapipe.python.solutions.face_mesh import FaceMesh

        self.name = "mediapipe_facemesh.attention"
        self._edges = sorted(connections.FACEMESH_CONTOURS | connections.FACEMESH_IRISES)
        self._solution = FaceMesh(
            static_image_mode=True,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=_check_confidence(conf),
        )

    def __call__(self, image: np.ndarray) -> Keypoints:
        """Face meshes in one ``(H, W, 3)`` uint8 RGB image."""
        height, width = image.shape[:2]
        output = self._solution.process(_rgb(image))
        points = [
            [[m.x * width, m.y * height, m.z * width] for m in face.landmark]
            for face in output.multi_face_landmarks or []
        ]
        count = 478
        return Keypoints(
            points=points, visibility=np.ones((len(points), count)), scores=np.ones(len(points)),
            names=tuple(f"p{i}" for i in range(count)), edges=self._edges, kind="facemesh",
            model=self.name,
        )  # fmt: skip


class SelfieSegmenter(_Solution):
    """MediaPipe selfie segmentation: a soft person mask.

    Args:
        model: ``"general"`` (256×256 input) or ``"landscape"`` (144×256, faster).
        threshold: Alpha above which a pixel counts as the person.
    """

    def __init__(
        self, model: str = "general", threshold: float = defaults.MATTING_THRESHOLD
    ) -> None:
        if model not in ("general", "landscape"):
            raise UsageError(f"unknown selfie model {model!r}; use general or landscape")
        require("mediapipe")
        packaged_file(f"selfie_segmentation.{model}")
        from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

        self.name = f"selfie_segmentation.{model}"
        self.threshold = _check_confidence(threshold, "threshold")
        self._solution = SelfieSegmentation(model_selection=int(model == "landscape"))

    def __call__(self, image: np.ndarray) -> Matte:
        """Person alpha for one ``(H, W, 3)`` uint8 RGB image."""
        output = self._solution.process(_rgb(image))
        alpha = np.clip(np.asarray(output.segmentation_mask, np.float32), 0.0, 1.0)
        return Matte(alpha=alpha, threshold=self.threshold, model=self.name)
