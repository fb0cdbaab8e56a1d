"""Transforms v2 augmentation for detection, instance segmentation and keypoint training.

Samples are ``(image, target)`` as :class:`~visiona.data.detection.torch_dataset.DetectionTorchDataset`
builds them before its float conversion: a uint8 ``tv_tensors.Image`` ``(3, H, W)`` and a dict
with ``boxes`` (``BoundingBoxes`` XYXY ``(N, 4)``), ``labels`` / ``iscrowd`` ``(N,)``, optional
``masks`` (``Mask`` ``(N, H, W)``), ``keypoints`` (``KeyPoints`` ``(N, K, 2)``) and
``keypoints_visibility`` (:class:`KeypointVisibility` ``(N, K)``). Geometry moves all of them
together; every pipeline ends with :func:`sanitize_steps` (clip boxes, drop the degenerate ones
with their labels, masks and keypoints), because torchvision's detectors raise on empty boxes.

Presets (mirroring :mod:`visiona.data.transforms`):
    none:   no augmentation (only the final clip + sanitize).
    light:  horizontal flip, mild photometric distortion (brightness / contrast / saturation /
            hue, no channel shuffle).
    strong: the torchvision detection references' "ssd" recipe: full photometric distortion,
            random zoom-out (canvas up to 2× with mean fill, p=0.5), random IoU crop, then the
            flip. The zoom-out and IoU crop are the scale jitter of "lsj": torchvision's
            detectors resize every image to a fixed shorter side themselves, so a plain rescale
            here would be undone, while padding and cropping do change the objects' scale.

Keypoints use the continuous pixel convention of the annotations (pixel ``i`` covers
``[i, i + 1)``), so a horizontal flip maps ``x → W - x`` like boxes (torchvision's own keypoint
kernel uses ``W - 1 - x``), and swaps left/right keypoints when given a flip map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from visiona.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

AugmentPreset = Literal["none", "light", "strong"]
PRESETS: tuple[str, ...] = ("none", "light", "strong")

PER_OBJECT_KEYS = ("labels", "iscrowd", "area", "keypoints", "keypoints_visibility")
"""Target entries indexed by object that are filtered together with the boxes (masks are found
by type)."""

COCO_PERSON_FLIP_INDICES = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
"""Keypoint flip map of COCO's 17 person keypoints (nose, eyes, ears, shoulders, ...)."""

MEAN_FILL = (124, 116, 104)
"""uint8 fill of the canvas a zoom-out adds (ImageNet mean)."""


class KeypointVisibility(tv_tensors.TVTensor):
    """Per-keypoint visibility ``(N, K)`` (COCO ``v``: 0 unlabelled, 1 hidden, 2 visible).

    A TVTensor of its own so geometric transforms pass it through unchanged while
    :class:`HorizontalFlip` can reorder it with the keypoints.
    """

    @classmethod
    def _wrap(cls, tensor: torch.Tensor) -> KeypointVisibility:
        return tensor.as_subclass(cls)

    def __new__(cls, data: Any, *, dtype: torch.dtype | None = None) -> KeypointVisibility:
        tensor = cls._to_tensor(data, dtype=dtype, device=None, requires_grad=False)
        return cls._wrap(tensor)


def flip_keypoints(keypoints: torch.Tensor, width: int) -> torch.Tensor:
    """Mirror ``(..., 2)`` keypoints in an image ``width`` pixels wide: ``x → width - x``."""
    out = keypoints.clone()
    out[..., 0] = width - out[..., 0]
    return out


class HorizontalFlip(v2.RandomHorizontalFlip):
    """Random horizontal flip that keeps keypoints on the pixel-edge convention and swaps sides.

    Args:
        p: Probability of flipping a sample.
        keypoint_flip_indices: ``flip[k]`` is the keypoint that keypoint ``k`` becomes when the
            image is mirrored (e.g. :data:`COCO_PERSON_FLIP_INDICES`); None keeps the order.
    """

    def __init__(self, p: float = 0.5, keypoint_flip_indices: Sequence[int] | None = None) -> None:
        super().__init__(p=p)
        self.keypoint_flip_indices = (
            None if keypoint_flip_indices is None else [int(i) for i in keypoint_flip_indices]
        )
        if self.keypoint_flip_indices is not None and sorted(self.keypoint_flip_indices) != list(
            range(len(self.keypoint_flip_indices))
        ):
            raise UsageError(
                f"the keypoint flip map must be a permutation of 0..K-1, "
                f"got {self.keypoint_flip_indices}"
            )

    def _reorder(self, tensor: torch.Tensor, dim: int) -> torch.Tensor:
        order = self.keypoint_flip_indices
        if order is None or tensor.ndim < 2 or tensor.shape[dim] == 0:
            return tensor
        if tensor.shape[dim] != len(order):
            raise ValueError(
                f"keypoint flip map has {len(order)} entries but objects have "
                f"{tensor.shape[dim]} keypoints"
            )
        return tensor.index_select(dim, torch.as_tensor(order, device=tensor.device))

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, tv_tensors.KeyPoints):
            flipped = flip_keypoints(inpt.as_subclass(torch.Tensor), inpt.canvas_size[1])
            return tv_tensors.wrap(self._reorder(flipped, -2), like=inpt)
        if isinstance(inpt, KeypointVisibility):
            return KeypointVisibility(self._reorder(inpt.as_subclass(torch.Tensor), -1))
        return super().transform(inpt, params)


class IoUCrop(v2.RandomIoUCrop):
    """:class:`~torchvision.transforms.v2.RandomIoUCrop` that leaves background images alone.

    torchvision's version keeps sampling until it draws its "no crop" option when an image has
    no box; here such images skip the crop directly.
    """

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        from torchvision.transforms.v2._utils import get_bounding_boxes

        if get_bounding_boxes(flat_inputs).shape[0] == 0:
            return {}
        return super().make_params(flat_inputs)


def per_object_getter(sample: Any) -> tuple[torch.Tensor, ...]:
    """The ``labels_getter`` of :class:`~torchvision.transforms.v2.SanitizeBoundingBoxes`.

    Returns every per-object tensor of the target (:data:`PER_OBJECT_KEYS`) so they are dropped
    together with their boxes; ``Mask`` tensors ``(N, H, W)`` are handled by type.
    """
    target = sample[1] if isinstance(sample, (tuple, list)) and len(sample) > 1 else sample
    if not isinstance(target, dict):
        return ()
    return tuple(target[k] for k in PER_OBJECT_KEYS if isinstance(target.get(k), torch.Tensor))


def sanitize_steps() -> list[v2.Transform]:
    """Clip boxes to the image, then drop boxes under 1 px with everything per object."""
    return [v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(labels_getter=per_object_getter)]


def _photometric(strong: bool) -> v2.Transform:
    if strong:
        return v2.RandomPhotometricDistort(p=0.5)
    return v2.RandomApply(
        [
            v2.ColorJitter(
                brightness=(0.875, 1.125), contrast=(0.8, 1.2), saturation=(0.8, 1.2), hue=0.03
            )
        ],
        p=0.5,
    )


def detection_train_transform(
    preset: AugmentPreset | str = "light",
    *,
    hflip: bool = True,
    keypoint_flip_indices: Sequence[int] | None = None,
) -> v2.Transform:
    """The augmentation of ``preset`` for ``(image, target)`` samples (see the module docs).

    Args:
        preset: ``none``, ``light`` or ``strong``.
        hflip: Use the mirror flip (False for data where left and right differ: text, digits).
        keypoint_flip_indices: Keypoint flip map (``flip[k]`` = index keypoint ``k`` takes after
            a mirror flip), e.g. :data:`COCO_PERSON_FLIP_INDICES`; needed for keypoints with a
            side (left eye / right eye), else the flip teaches the model to swap them.

    Returns:
        A ``v2.Compose`` ending with :func:`sanitize_steps`; it expects a uint8 image.

    Raises:
        UsageError: Unknown preset or a flip map that is not a permutation.
    """
    if preset not in PRESETS:
        raise UsageError(f"unknown augmentation preset {preset!r}; use one of {', '.join(PRESETS)}")
    flip: list[v2.Transform] = (
        [HorizontalFlip(0.5, keypoint_flip_indices)] if hflip and preset != "none" else []
    )
    steps: list[v2.Transform] = []
    if preset == "light":
        steps = [*flip, _photometric(strong=False)]
    elif preset == "strong":
        steps = [
            _photometric(strong=True),
            v2.RandomZoomOut(
                fill={tv_tensors.Image: MEAN_FILL, "others": 0}, side_range=(1.0, 2.0), p=0.5
            ),
            IoUCrop(),
            *flip,
        ]
    return v2.Compose([*steps, *sanitize_steps()])


def detection_eval_transform() -> v2.Transform:
    """No geometry change: clip boxes and drop the degenerate ones (with their labels/masks)."""
    return v2.Compose(sanitize_steps())


def describe(transform: Callable[..., Any]) -> str:
    """One line naming the steps of a transform, for logs."""
    steps = getattr(transform, "transforms", [transform])
    return " → ".join(type(step).__name__ for step in steps)


__all__ = [
    "COCO_PERSON_FLIP_INDICES",
    "PRESETS",
    "HorizontalFlip",
    "IoUCrop",
    "KeypointVisibility",
    "detection_eval_transform",
    "detection_train_transform",
    "flip_keypoints",
    "per_object_getter",
    "sanitize_steps",
]
