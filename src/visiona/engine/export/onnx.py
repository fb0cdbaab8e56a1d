"""``visiona export MODEL --format onnx``: an ONNX file that carries its Weights record, verified.

Classifiers export with a dynamic batch: ``pixels`` ``(N, 3, H, W)`` uint8 → ``logits``
``(N, C)``. torchvision detectors export one image per call with dynamic height and width:
``pixels`` ``(3, H, W)`` uint8 → ``boxes``, ``labels``, ``scores`` (+ ``masks``, ``keypoints``);
they need the legacy TorchScript exporter (``dynamo=False``): the dynamo exporter fails on their
NMS. See :mod:`visiona.models.onnx.format` for the input convention and the metadata.

Every export is checked before it is written: the same real images go through PyTorch eager and
through ONNX Runtime, and the export fails (nothing is written) when they disagree beyond the
tolerance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import UsageError, VisionaError
from visiona.io.atomic import atomic_write_bytes
from visiona.models.onnx.convert import DEFAULT_OPSET, to_onnx
from visiona.models.onnx.format import INPUT_NAME, OnnxModel

if TYPE_CHECKING:
    from visiona.models.load import LoadedModel

DEFAULT_ATOL = 1e-3
DEFAULT_RTOL = 1e-3
DETECTION_SCORE_FLOOR = 0.25
"""Detections are compared from this score up: what ``predict`` shows by default (``--conf``).
Below it, near-equal scores and the detector's 100-box cap make the sets runtime-dependent."""
SCORE_MARGIN = 0.02


class ExportVerificationError(VisionaError):
    """The exported graph does not reproduce PyTorch within the tolerance."""


@dataclass(frozen=True)
class Verification:
    """How closely ONNX Runtime reproduced PyTorch on the verification images.

    Attributes:
        images: How many images were compared.
        max_abs_diff: Largest absolute difference of any output value (logits; box coordinates
            and scores for detectors).
        tolerance: The largest difference allowed, ``atol + rtol * max|reference|``.
        top1_agreement: Fraction of images with the same top-1 class (classifiers) or the same
            detections (detectors: every detection found a partner).
        detections: Detectors only: what was compared (:class:`DetectionComparison`).
    """

    images: int
    max_abs_diff: float
    tolerance: float
    top1_agreement: float
    detections: DetectionComparison | None = None

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance and self.top1_agreement == 1.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every export report (ONNX, TFLite, ExecuTorch) carries."""
        return {
            "images": self.images,
            "max_abs_diff": self.max_abs_diff,
            "tolerance": self.tolerance,
            "top1_agreement": self.top1_agreement,
            "detections": self.detections.to_dict() if self.detections else None,
            "passed": self.passed,
        }

    def describe(self) -> str:
        """One line saying what was compared and how closely it agreed."""
        allowed = f"(allowed {self.tolerance:.2e})"
        if self.detections is None:
            return (
                f"{self.images} images: max |logit diff| {self.max_abs_diff:.2e} {allowed}, "
                f"same top-1 class on {self.top1_agreement:.0%}"
            )
        found = self.detections
        return (
            f"{self.images} images: {found.matched} of {found.total} detections matched "
            f"(score ≥ {found.score_floor:g}), max box difference {found.max_box_diff:.2e} px, "
            f"max score difference {found.max_score_diff:.2e}, max |diff| "
            f"{self.max_abs_diff:.2e} {allowed}"
        )


@dataclass(frozen=True)
class DetectionComparison:
    """How a detector's detections compared between PyTorch and ONNX Runtime.

    Attributes:
        matched: Detections (both directions) that found a same-label partner.
        total: Detections (both directions) that needed one (scoring ≥ ``score_floor``).
        max_box_diff: Largest ``max |xyxy diff|`` of a matched pair, in input pixels.
        max_score_diff: Largest ``|score diff|`` of a matched pair.
        score_floor: Detections scoring below this were not compared.
    """

    matched: int
    total: int
    max_box_diff: float
    max_score_diff: float
    score_floor: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched, "total": self.total, "max_box_diff": self.max_box_diff,
            "max_score_diff": self.max_score_diff, "score_floor": self.score_floor,
        }  # fmt: skip


@dataclass(frozen=True)
class ExportReport:
    """What an export produced."""

    path: Path | None
    size_bytes: int
    seconds: float
    exporter: str
    opset: int
    verification: Verification | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path) if self.path else None,
            "size_bytes": self.size_bytes,
            "seconds": round(self.seconds, 2),
            "exporter": self.exporter,
            "opset": self.opset,
            "verification": None if self.verification is None else self.verification.to_dict(),
        }


def export_onnx(
    model: LoadedModel,
    output: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    dynamo: bool = False,
    verify_images: Sequence[Any] | None = None,
    verify: bool = True,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> ExportReport:
    """Export, verify against PyTorch, then write ``output`` (nothing is written on failure).

    Args:
        model: A loaded torch model.
        output: Destination ``.onnx`` path.
        opset: ONNX opset.
        dynamo: Use the dynamo exporter (classifiers only).
        verify_images: Images to compare on (paths, folders, arrays); default: scikit-image's
            sample photos.
        verify: Compare with PyTorch before writing.
        atol: Absolute tolerance on outputs.
        rtol: Tolerance relative to the largest reference output.

    Raises:
        ExportVerificationError: ONNX Runtime and PyTorch disagree beyond the tolerance.
        UsageError: The destination is not a ``.onnx`` path or is an existing folder.
    """
    path = Path(output)
    if path.suffix != ".onnx":
        raise UsageError(f"export destination must end in .onnx, got {str(path)!r}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name ending in .onnx")
    start = time.perf_counter()
    exported = to_onnx(model, opset=opset, dynamo=dynamo)
    check = None
    if verify:
        images = load_verification_images(verify_images)
        check = verify_export(model, exported, images, atol=atol, rtol=rtol)
        if not check.passed:
            raise ExportVerificationError(
                f"the ONNX export of {model.architecture} does not match PyTorch on "
                f"{check.describe()}; nothing was written",
                hint="try another --opset, or the other exporter (--dynamo / no --dynamo)",
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, exported.model_bytes)
    return ExportReport(
        path=path,
        size_bytes=len(exported.model_bytes),
        seconds=time.perf_counter() - start,
        exporter="dynamo" if dynamo else "torchscript",
        opset=max(opset, 18) if dynamo else opset,
        verification=check,
    )


def load_verification_images(sources: Sequence[Any] | None, limit: int = 8) -> list[np.ndarray]:
    """Up to ``limit`` RGB uint8 images: the given ones, or scikit-image's sample photos."""
    from visiona.io.images import load_image

    if sources:
        from visiona.data.sources import gather_inputs

        return [load_image(item).array for item in gather_inputs(list(sources))[:limit]]
    try:
        from skimage import data
    except ImportError:
        raise UsageError(
            "verification needs images: pass --verify-images DIR",
            hint='or install scikit-image for its sample photos: pip install "visiona[samples]"',
        ) from None
    names = ("astronaut", "chelsea", "coffee", "rocket")
    return [load_image(getattr(data, name)()).array for name in names][:limit]


def verify_export(
    model: LoadedModel,
    exported: OnnxModel,
    images: Sequence[np.ndarray],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
    score_floor: float = DETECTION_SCORE_FLOOR,
) -> Verification:
    """Run ``images`` through PyTorch eager and ONNX Runtime and measure the disagreement.

    Classifiers: every logit is compared. Detectors: detections scoring at least
    ``score_floor`` are matched order-free (see :func:`match_detections`).
    """
    import torch

    from visiona.engine.predict.onnx_backend import session_for
    from visiona.ops.preprocess import normalize, resize_pixels
    from visiona.tasks.base import get_task

    if getattr(get_task(model.task), "spatial_output", False):
        from visiona.engine.export.segment import verify_dense_export

        return Verification(*verify_dense_export(model, exported, images, atol=atol, rtol=rtol))
    preprocessing = model.weights.preprocessing
    session = session_for(exported.model_bytes)
    pixels = [resize_pixels(image, preprocessing) for image in images]
    module = model.module.eval()
    if exported.batched:
        batch = torch.stack(pixels)
        with torch.inference_mode():
            reference = module(normalize(batch, preprocessing)).float().numpy()
        (ours,) = session.run(None, {INPUT_NAME: batch.numpy()})
        diff = float(np.abs(ours - reference).max())
        tolerance = atol + rtol * float(np.abs(reference).max())
        same = float(np.mean(ours.argmax(1) == reference.argmax(1)))
        return Verification(len(images), diff, tolerance, same)
    diffs, agree, scale = [0.0], [], 0.0
    matched = total = 0
    box_diff = score_diff = 0.0
    for image in pixels:
        with torch.inference_mode():
            ref = module([normalize(image, preprocessing)])[0]
        values = session.run(None, {INPUT_NAME: image.numpy()})
        got = dict(zip(exported.outputs, values, strict=True))
        ref_np = {name: ref[name].numpy() for name in ("boxes", "labels", "scores")}
        pairs = compare_detections(ref_np, got, score_floor)
        matched, total = matched + pairs.matched, total + pairs.total
        box_diff, score_diff = (
            max(box_diff, pairs.max_box_diff),
            max(score_diff, pairs.max_score_diff),
        )
        agree.append(float(pairs.matched == pairs.total))
        if pairs.matched == pairs.total:
            diffs.append(pairs.worst)
            scale = max(scale, float(np.abs(ref_np["boxes"]).max(initial=0.0)))
    comparison = DetectionComparison(matched, total, box_diff, score_diff, score_floor)
    return Verification(
        len(images), max(diffs), atol + rtol * scale, float(np.mean(agree)), comparison
    )


@dataclass(frozen=True)
class _Pairs:
    matched: int
    total: int
    max_box_diff: float
    max_score_diff: float
    worst: float


def compare_detections(
    reference: dict[str, np.ndarray],
    ours: dict[str, np.ndarray],
    score_floor: float = DETECTION_SCORE_FLOOR,
    margin: float = SCORE_MARGIN,
) -> _Pairs:
    """Match two detectors' outputs order-free (see :func:`match_detections`) and count.

    Returns:
        Detections that found a partner, detections that needed one, the largest box and score
        differences of matched pairs, and the worst pair's ``max |box diff| + |score diff|``.
    """
    matched = total = 0
    worst = box_diff = score_diff = 0.0
    for one, other in ((reference, ours), (ours, reference)):
        strong = one["scores"] >= score_floor + margin
        candidates = other["scores"] >= score_floor - margin
        for box, label, score in zip(
            one["boxes"][strong], one["labels"][strong], one["scores"][strong], strict=True
        ):
            total += 1
            same = np.flatnonzero(candidates & (other["labels"] == label))
            if same.size == 0:
                continue
            boxes = np.abs(other["boxes"][same] - box).max(axis=1)
            scores = np.abs(other["scores"][same] - score)
            best = int(np.argmin(boxes + scores))
            matched += 1
            worst = max(worst, float(boxes[best] + scores[best]))
            box_diff = max(box_diff, float(boxes[best]))
            score_diff = max(score_diff, float(scores[best]))
    return _Pairs(matched, total, box_diff, score_diff, worst)


def match_detections(
    reference: dict[str, np.ndarray],
    ours: dict[str, np.ndarray],
    score_floor: float = DETECTION_SCORE_FLOOR,
    margin: float = SCORE_MARGIN,
) -> float | None:
    """Largest box + score difference between two detectors' outputs, matched order-free.

    Every detection scoring at least ``score_floor + margin`` on one side must have a
    same-label partner scoring at least ``score_floor - margin`` on the other (the margin keeps
    a box that scores 0.2501 on one runtime and 0.2499 on the other from counting as missing);
    partners are the closest boxes, since runtimes order near-equal scores differently.

    Returns:
        The worst pair's ``max |box diff| + |score diff|``, or ``None`` if a detection has no
        partner.
    """
    pairs = compare_detections(reference, ours, score_floor, margin)
    return pairs.worst if pairs.matched == pairs.total else None
