"""Pretrained perception models that ship inside installed packages (pip wheels, npm tarballs).

MediaPipe, dlib, facenet-pytorch and OpenCV models are not torch modules with a state dict: each
library loads its own file format. They still get a :class:`~visiona.weights.record.Weights`
record, so they are found the same way as every other model (``package://`` and ``npm://`` URIs,
sha256-checked) and a missing one fails with the command that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from visiona.errors import MissingDependencyError, UnknownNameError
from visiona.weights.record import Preprocessing, Weights

MEDIAPIPE_INSTALL = (
    "pip install --no-deps mediapipe==0.10.21 && pip install absl-py attrs flatbuffers "
    '"protobuf>=6.31.1,<7" "opencv-python-headless<5" matplotlib   (or: make perception-packages)'
)
INSTALL_COMMANDS = {
    "mediapipe": MEDIAPIPE_INSTALL,
    "dlib": "pip install dlib-bin face-recognition-models   (or: make perception-packages)",
    "facenet_pytorch": "pip install --no-deps facenet-pytorch requests   (or: make perception-packages)",
    "cv2": 'pip install "opencv-python-headless>=4.8,<5"',
}
POSE_NPM_VERSION = "0.5.1675469404"
_MP = "package://mediapipe/modules"
_NO_PREPROCESSING = Preprocessing(
    input_size=(1, 1), resize="none", resize_size=None, mean=(0, 0, 0), std=(1, 1, 1)
)


def require(module: str) -> ModuleType:
    """Import an optional backend library, or fail with the command that installs it.

    Raises:
        MissingDependencyError: ``module`` is not installed (or cannot be imported).
    """
    install = INSTALL_COMMANDS.get(module, f"pip install {module}")
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(f"{module} is not installed", hint=f"install: {install}")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{module} is installed but cannot be imported ({error})", hint=f"install: {install}"
        ) from None


def _record(
    model: str,
    tag: str,
    task: str,
    uri: str,
    sha256: str,
    file_format: str,
    license: str,
    description: str,
) -> Weights:
    return Weights(
        model=model, tag=tag, task=task, urls=(uri,), sha256=sha256,
        file_format=file_format, preprocessing=_NO_PREPROCESSING,  # type: ignore[arg-type]
        license=license, description=description, file_size=_SIZES.get(f"{model}.{tag}"),
    )  # fmt: skip


_SIZES = {  # bytes, for listings
    "blazeface.short_range": 229714,
    "blazeface.full_range": 676746,
    "mediapipe_pose.lite": 2819824,
    "mediapipe_pose.full": 6440512,
    "mediapipe_pose.heavy": 27709200,
    "mediapipe_hands.full": 5478917,
    "mediapipe_facemesh.attention": 2495106,
    "selfie_segmentation.general": 249505,
    "selfie_segmentation.landscape": 250145,
    "dlib_mmod.human_face": 729940,
    "dlib_shape.68": 99693937,
    "dlib_resnet.face_v1": 22466066,
    "mtcnn.onet": 1559269,
    "haar.frontalface_default": 930127,
}
_APACHE = "Apache-2.0"
# fmt: off
PACKAGED_WEIGHTS: dict[str, Weights] = {
    w.full_name: w
    for w in (
        _record("blazeface", "short_range", "faces",
                f"{_MP}/face_detection/face_detection_short_range.tflite?pip=mediapipe==0.10.21",
                "bbff11cebd1eb27a", "tflite", _APACHE, "MediaPipe BlazeFace, faces within ~2 m"),
        _record("blazeface", "full_range", "faces",
                f"{_MP}/face_detection/face_detection_full_range_sparse.tflite?pip=mediapipe==0.10.21",
                "2c3728e6da56f21e", "tflite", _APACHE, "MediaPipe BlazeFace, faces within ~5 m"),
        _record("mediapipe_pose", "lite", "pose",
                f"npm://@mediapipe/pose/pose_landmark_lite.tflite?version={POSE_NPM_VERSION}",
                "f17bfbecadb61c3b", "tflite", _APACHE, "MediaPipe Pose landmarks, lite"),
        _record("mediapipe_pose", "full", "pose",
                f"{_MP}/pose_landmark/pose_landmark_full.tflite?pip=mediapipe==0.10.21",
                "e9a5c5cb17f736fa", "tflite", _APACHE, "MediaPipe Pose landmarks, full"),
        _record("mediapipe_pose", "heavy", "pose",
                f"npm://@mediapipe/pose/pose_landmark_heavy.tflite?version={POSE_NPM_VERSION}",
                "59e42d71bcd44cbd", "tflite", _APACHE, "MediaPipe Pose landmarks, heavy"),
        _record("mediapipe_hands", "full", "hands",
                f"{_MP}/hand_landmark/hand_landmark_full.tflite?pip=mediapipe==0.10.21",
                "11c272b891e1a99a", "tflite", _APACHE, "MediaPipe Hands, 21 landmarks"),
        _record("mediapipe_facemesh", "attention", "facemesh",
                f"{_MP}/face_landmark/face_landmark_with_attention.tflite?pip=mediapipe==0.10.21",
                "e06a804e0144f992", "tflite", _APACHE, "MediaPipe Face Mesh, 478 landmarks"),
        _record("selfie_segmentation", "general", "matting",
                f"{_MP}/selfie_segmentation/selfie_segmentation.tflite?pip=mediapipe==0.10.21",
                "9ee168ec7c8f2a16", "tflite", _APACHE, "MediaPipe selfie segmentation 256×256"),
        _record("selfie_segmentation", "landscape", "matting",
                f"{_MP}/selfie_segmentation/selfie_segmentation_landscape.tflite?pip=mediapipe==0.10.21",
                "a77d03f4659b9f6b", "tflite", _APACHE, "MediaPipe selfie segmentation 144×256"),
        _record("dlib_mmod", "human_face", "faces",
                "package://face_recognition_models/models/mmod_human_face_detector.dat"
                "?pip=face-recognition-models",
                "4cb19393e2fbaf2b", "dlib", "CC0-1.0", "dlib CNN (MMOD) face detector"),
        _record("dlib_shape", "68", "faces",
                "package://face_recognition_models/models/shape_predictor_68_face_landmarks.dat"
                "?pip=face-recognition-models",
                "fbdc2cb80eb9aa7a", "dlib", "iBUG 300-W terms (non-commercial)",
                "dlib 68-point face landmarks"),
        _record("dlib_resnet", "face_v1", "faces",
                "package://face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"
                "?pip=face-recognition-models",
                "55533b28a95800a5", "dlib", "CC0-1.0", "dlib ResNet 128-d face embedding"),
        _record("mtcnn", "onet", "faces",
                "package://facenet_pytorch/data/onet.pt?pip=facenet-pytorch",
                "165bfbe42940416c", "pth", "MIT", "MTCNN output network (facenet-pytorch)"),
        _record("haar", "frontalface_default", "faces",
                "package://cv2/data/haarcascade_frontalface_default.xml"
                "?pip=opencv-python-headless",
                "0f7d4527844eb514", "xml", "Intel BSD", "OpenCV Haar frontal-face cascade"),
    )
}
# fmt: on


def packaged_file(name: str) -> Path:
    """The verified local file of a packaged model (``"mediapipe_pose.heavy"``...).

    Raises:
        UnknownNameError: No packaged model has that name.
        WeightsUnavailableError: Its package is not installed; the message names the command.
    """
    from visiona.weights.resolve import resolve_weights

    if name not in PACKAGED_WEIGHTS:
        raise UnknownNameError(
            f"unknown packaged model {name!r}", hint=f"known: {', '.join(PACKAGED_WEIGHTS)}"
        )
    return resolve_weights(PACKAGED_WEIGHTS[name], allow_download=False).path
