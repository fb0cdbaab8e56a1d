"""Embedders for the ``embed`` task: every model that turns an image into one vector.

- any classifier of the catalogue or a visiona classify checkpoint: its pooled features (the
  input of its last linear layer); ``efficientnet_lite0`` with its packaged ImageNet weights is
  the default and works offline;
- ``clip-vit-b32``, ``dinov2-small``/``-base``, ``siglip-base``: transformers models
  (:mod:`visiona.models.hf`);
- ``dlib-face``: dlib's 128-d face embedding of the largest face (HOG detector, aligned chip).

All come back as a :class:`~visiona.models.load.LoadedModel` with ``task="embed"``, so the one
Predictor runs them and ``EmbedTask`` turns their ``(N, D)`` output into ``Embeddings``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visiona.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from torch import nn

    from visiona.models.load import LoadedModel

DEFAULT_EMBEDDER = "efficientnet_lite0"
FACE_EMBEDDERS = ("dlib-face",)


def feature_extractor(classifier: nn.Module) -> tuple[nn.Module, int]:
    """``(module, D)``: ``classifier`` with its last linear layer replaced by the identity, so it
    outputs the ``(N, D)`` pooled features that layer took. Changes ``classifier`` in place."""
    from torch import nn

    from visiona.models.transfer import find_head

    name, head = find_head(classifier)
    parent = classifier.get_submodule(name.rpartition(".")[0]) if "." in name else classifier
    setattr(parent, name.rpartition(".")[2], nn.Identity())
    return classifier, head.in_features


class DlibFaceEmbedder:
    """``(H, W, 3)`` uint8 RGB image → ``(128,)`` embedding of its largest face, ``(0,)`` if none.

    dlib's HOG detector finds the face, its 68-point shape predictor places it, and the ResNet
    embeds the chip dlib aligns from that shape (the face_recognition library's recipe). Runs on
    the ``packaged`` backend (whole images), like the perception models.
    """

    takes_images = True

    def __init__(self) -> None:
        from visiona.models.packaged import packaged_file, require

        dlib = require("dlib")
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(packaged_file("dlib_shape.68")))
        self._encoder = dlib.face_recognition_model_v1(str(packaged_file("dlib_resnet.face_v1")))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        faces = list(self._detector(image, 1))
        if not faces:
            return np.zeros(0, np.float32)
        largest = max(faces, key=lambda rect: rect.width() * rect.height())
        shape = self._shape(image, largest)
        return np.asarray(self._encoder.compute_face_descriptor(image, shape), np.float32)


def load_embedder(
    model: str | Path | None = None,
    *,
    pretrained: bool = True,
    weights_file: str | Path | None = None,
    console: Console | None = None,
) -> LoadedModel:
    """The embedder called ``model`` (default ``efficientnet_lite0``) as a LoadedModel.

    Raises:
        UnknownNameError: No such model.
        WeightsUnavailableError: Its weights are not available offline (names the commands).
    """
    from visiona.models.load import LoadedModel, load_model
    from visiona.weights.record import Preprocessing, Weights

    name = str(model) if model is not None else DEFAULT_EMBEDDER
    if name in FACE_EMBEDDERS:
        record = Weights(
            model=name,
            tag="packaged",
            task="embed",
            preprocessing=Preprocessing((1, 1), "none", None),
            license="CC0 (dlib face recognition ResNet, face-recognition-models)",
            description="dlib 128-d face embedding of the largest face",
        )
        return LoadedModel(DlibFaceEmbedder(), name, record, "package", name, "embed")  # type: ignore[arg-type]
    from visiona.models.hf import hub_model, load_hub_embedder

    if hub_model(name) is not None:
        if not pretrained:
            raise UsageError(f"{name} loads its pretrained snapshot; random init is not offered")
        module, record, origin, options = load_hub_embedder(
            name, folder=weights_file, console=console
        )
        return LoadedModel(module.eval(), record.model, record, origin, name, "embed", options)
    classifier = load_model(
        name, task="classify", pretrained=pretrained, weights_file=weights_file, console=console
    )
    if not hasattr(classifier.module, "parameters"):
        raise UsageError(f"{name}: embeddings come from PyTorch models, not ONNX files")
    module, _ = feature_extractor(classifier.module)
    record = replace(
        classifier.weights,
        task="embed",
        class_names=(),
        description=f"pooled features of {classifier.weights.full_name}",
    )
    return LoadedModel(
        module.eval(),
        classifier.architecture,
        record,
        classifier.origin,
        classifier.source,
        "embed",
        classifier.arch_options,
    )


def embedder_key(model: LoadedModel) -> str | None:
    """A name that changes whenever the embedder's parameters may change, for caches; ``None``
    for random initialisation (nothing to reuse)."""
    from visiona.weights.cache import file_sha256

    weights = model.weights
    if model.origin == "random":
        return None
    if model.origin in ("checkpoint", "file") and Path(model.source).is_file():
        return f"{weights.model}-{file_sha256(Path(model.source))[:16]}"
    return f"{weights.full_name}-{(weights.sha256 or '')[:16]}".rstrip("-")


def zero_shot_model(
    model: str | None,
    labels: list[str],
    *,
    weights_file: str | Path | None = None,
    console: Console | None = None,
) -> LoadedModel:
    """A CLIP/SigLIP zero-shot classifier over ``labels`` as a classify LoadedModel.

    Raises:
        UsageError: Bad labels, or a model without a text tower.
    """
    from visiona.models.hf import check_labels, hub_model, zero_shot_classifier
    from visiona.models.load import LoadedModel

    labels = check_labels(labels)
    name = model or "clip"
    entry = hub_model(name)
    if entry is None or entry.kind not in ("clip", "siglip"):
        raise UsageError(
            f"--labels needs a model with a text tower (clip, siglip), not {name!r}",
            hint="e.g. visiona predict classify -m clip --labels cat,dog IMAGES",
        )
    embedder = load_embedder(name, weights_file=weights_file, console=console)
    module = zero_shot_classifier(embedder.module, labels)
    record = replace(
        embedder.weights,
        task="classify",
        class_names=tuple(labels),
        description=f"zero-shot {embedder.weights.model} over {len(labels)} labels",
    )
    return LoadedModel(module, record.model, record, embedder.origin, name, "classify")
