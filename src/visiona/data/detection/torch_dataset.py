"""A ``torch.utils.data.Dataset`` over detection annotations, in torchvision detectors' format.

Each item is ``(image, target)``: a float32 ``tv_tensors.Image`` ``(3, H, W)`` in ``[0, 1]`` (RGB,
EXIF orientation applied, decoded safely by :func:`visiona.io.images.load_image`) and the target
dict Faster / Mask / Keypoint R-CNN take::

    boxes      tv_tensors.BoundingBoxes XYXY (N, 4) float32, absolute pixels
    labels     (N,) int64, class_id + 1 (0 is torchvision's background)
    iscrowd    (N,) int64
    image_id   int, the item's index
    masks      tv_tensors.Mask (N, H, W) uint8          (masks=True)
    keypoints  (N, K, 3) float32: x, y, visibility       (keypoints=True)

The transform (see :mod:`visiona.data.detection.augment`) sees the uint8 image and keypoints as
``KeyPoints`` ``(N, K, 2)`` plus ``keypoints_visibility`` ``(N, K)``; afterwards the boxes are
clipped and degenerate ones dropped with everything per object, keypoints that left the image
get visibility 0, and the image becomes float.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from visiona.data.detection.annotations import DetectionDataset, ImageAnnotation, ObjectAnnotation
from visiona.data.detection.augment import KeypointVisibility, sanitize_steps
from visiona.errors import UsageError

Sample = tuple[tv_tensors.Image, dict[str, Any]]


def _box_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """The pixels whose centre lies inside ``box`` (the mask of an object labelled by box only)."""
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), dtype=bool)
    c0, c1 = max(int(np.ceil(x0 - 0.5)), 0), min(int(np.ceil(x1 - 0.5)), width)
    r0, r1 = max(int(np.ceil(y0 - 0.5)), 0), min(int(np.ceil(y1 - 0.5)), height)
    mask[r0:r1, c0:c1] = True
    return mask


def object_mask_array(obj: ObjectAnnotation, height: int, width: int) -> np.ndarray:
    """``(height, width)`` bool mask of ``obj``: its RLE or polygons, else its box filled."""
    from visiona.data.detection.masks import object_mask

    if obj.rle is not None and list(obj.rle.get("size", [])) != [height, width]:
        mask = None if not obj.polygons else object_mask(_without_rle(obj), height, width)
    else:
        mask = object_mask(obj, height, width)
    return _box_mask(obj.box, height, width) if mask is None else mask


def _without_rle(obj: ObjectAnnotation) -> ObjectAnnotation:
    return ObjectAnnotation(obj.box, obj.class_id, polygons=obj.polygons)


class DetectionTorchDataset(torch.utils.data.Dataset):
    """Images and targets for torchvision's detection models.

    Args:
        dataset: The data set (its ``images_root`` locates the files).
        images: The images of this split (e.g. ``DetectionSplits.train``).
        transform: Called as ``transform(image, target)`` on the uint8 image; e.g.
            :func:`~visiona.data.detection.augment.detection_train_transform`.
        masks: Add ``masks`` (objects without a mask get their box filled).
        keypoints: Add ``keypoints`` ``(N, K, 3)`` (objects without keypoints get zeros with
            visibility 0).

    Raises:
        UsageError: ``keypoints=True`` for a data set without keypoints.
    """

    def __init__(
        self,
        dataset: DetectionDataset,
        images: Sequence[ImageAnnotation],
        transform: Callable[..., Any] | None = None,
        *,
        masks: bool = False,
        keypoints: bool = False,
    ) -> None:
        self.dataset = dataset
        self.images = list(images)
        self.transform = transform
        self.masks = masks
        self.keypoints = keypoints
        self.num_keypoints = dataset.num_keypoints if keypoints else 0
        if keypoints and not self.num_keypoints:
            raise UsageError(
                "keypoint training needs keypoints, but the data set has none",
                hint="label keypoints (COCO person_keypoints, YOLO kpt_shape) or train boxes only",
            )
        self._finish = v2.Compose(sanitize_steps())

    def __len__(self) -> int:
        return len(self.images)

    def load(self, index: int) -> Sample:
        """Item ``index`` before any transform: uint8 image and the target of :meth:`__getitem__`
        with keypoints still split into ``KeyPoints`` and ``keypoints_visibility``."""
        from visiona.io.images import load_image

        image = self.images[index]
        pixels = load_image(self.dataset.image_path(image)).array
        height, width = pixels.shape[:2]
        canvas = (height, width)
        objects = image.objects
        boxes = torch.tensor([o.box for o in objects], dtype=torch.float32).reshape(-1, 4)
        target: dict[str, Any] = {
            "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=canvas),
            "labels": torch.tensor([o.class_id + 1 for o in objects], dtype=torch.int64),
            "iscrowd": torch.tensor([int(o.iscrowd) for o in objects], dtype=torch.int64),
            "image_id": index,
        }
        if self.masks:
            stack = np.zeros((len(objects), height, width), dtype=np.uint8)
            for k, obj in enumerate(objects):
                stack[k] = object_mask_array(obj, height, width)
            target["masks"] = tv_tensors.Mask(torch.from_numpy(stack))
        if self.keypoints:
            k = self.num_keypoints
            points = np.zeros((len(objects), k, 3), dtype=np.float32)
            for i, obj in enumerate(objects):
                if obj.keypoints:
                    values = np.asarray(obj.keypoints[: 3 * k], dtype=np.float32).reshape(-1, 3)
                    points[i, : len(values)] = values
            data = torch.from_numpy(points)
            target["keypoints"] = tv_tensors.KeyPoints(data[..., :2], canvas_size=canvas)
            target["keypoints_visibility"] = KeypointVisibility(data[..., 2])
        tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
        return tv_tensors.Image(tensor), target

    def __getitem__(self, index: int) -> Sample:
        """Item ``index``: float image ``(3, H, W)`` and its target (see the module docs)."""
        image, target = self.load(index)
        if self.transform is not None:
            image, target = self.transform(image, target)
        image, target = self._finish(image, target)
        image = F.to_dtype(image, torch.float32, scale=True)
        if self.keypoints:
            points = torch.as_tensor(target.pop("keypoints")).as_subclass(torch.Tensor)
            visible = torch.as_tensor(target.pop("keypoints_visibility")).as_subclass(torch.Tensor)
            height, width = image.shape[-2:]
            inside = (
                (points[..., 0] >= 0)
                & (points[..., 0] <= width)
                & (points[..., 1] >= 0)
                & (points[..., 1] <= height)
            )
            visible = torch.where(inside, visible, torch.zeros_like(visible))
            target["keypoints"] = torch.cat(
                [points.float(), visible.float().unsqueeze(-1)], dim=-1
            ).reshape(-1, self.num_keypoints, 3)
        return image, target


def detection_collate(batch: Sequence[Sample]) -> tuple[list[torch.Tensor], list[dict]]:
    """Keep a batch as lists (images differ in size): ``([image, ...], [target, ...])``."""
    images = [image for image, _ in batch]
    targets = [target for _, target in batch]
    return images, targets


__all__ = ["DetectionTorchDataset", "detection_collate", "object_mask_array"]
