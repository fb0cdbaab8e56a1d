"""Ground truth of one image in the form the detection metrics take."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from visiona.results.base import as_array

if TYPE_CHECKING:
    from visiona.data.detection.annotations import ImageAnnotation, ObjectAnnotation


@dataclass(frozen=True)
class GroundTruth:
    """The labelled objects of one image.

    Attributes:
        boxes: ``(N, 4)`` float32 ``x0, y0, x1, y1`` in absolute pixels.
        class_ids: ``(N,)`` int64 visiona class ids (0-based, contiguous).
        iscrowd: ``(N,)`` bool; crowd regions / VOC "difficult" objects, ignored by the metrics
            (default: none).
        masks: ``(N, H, W)`` bool instance masks, needed for ``iou_type="segm"``.
        image_size: ``(width, height)`` of the image, if known (gives the mask size of an image
            without objects).
        areas: ``(N,)`` float object areas deciding small/medium/large, as COCO files store them;
            default: the mask area for masks, the box area for boxes (what pycocotools computes
            for detections).
    """

    boxes: np.ndarray
    class_ids: np.ndarray
    iscrowd: np.ndarray | None = None
    masks: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    areas: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "boxes", as_array(self.boxes, np.float32, (4,)))
        set_(self, "class_ids", as_array(self.class_ids, np.int64))
        n = len(self.boxes)
        if self.boxes.shape != (n, 4) or self.class_ids.shape != (n,):
            raise ValueError(
                f"GroundTruth arrays disagree: boxes {self.boxes.shape}, "
                f"class_ids {self.class_ids.shape}"
            )
        crowd = np.zeros(n, dtype=bool) if self.iscrowd is None else self.iscrowd
        set_(self, "iscrowd", as_array(crowd, bool))
        if self.iscrowd.shape != (n,):
            raise ValueError(f"iscrowd must be (N={n},), got {self.iscrowd.shape}")
        if self.masks is not None:
            set_(self, "masks", np.asarray(self.masks, dtype=bool))
            if self.masks.ndim != 3 or len(self.masks) != n:
                raise ValueError(f"masks must be (N={n}, H, W), got {self.masks.shape}")
        if self.areas is not None:
            set_(self, "areas", as_array(self.areas, np.float64))
            if self.areas.shape != (n,):
                raise ValueError(f"areas must be (N={n},), got {self.areas.shape}")
        if self.image_size is not None:
            set_(self, "image_size", (int(self.image_size[0]), int(self.image_size[1])))

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def from_annotation(cls, image: ImageAnnotation, *, masks: bool = False) -> GroundTruth:
        """The ground truth of a data-set image (any format visiona reads).

        Args:
            image: The image and its objects.
            masks: Also decode every object's mask (RLE, or polygons rasterised exactly as
                pycocotools does, so mask IoUs match COCO's).

        Raises:
            ValueError: ``masks`` is set but an object has no polygons/RLE, or the image size
                is unknown.
        """
        objects = image.objects
        decoded = None
        if masks:
            if not (image.width and image.height):
                raise ValueError(f"{image.file}: image size unknown, cannot decode masks")
            decoded = np.zeros((len(objects), image.height, image.width), dtype=bool)
            for index, obj in enumerate(objects):
                decoded[index] = _decode_mask(obj, image)
        areas = None
        if any(o.area is not None for o in objects):
            # COCOeval buckets by the stored area (the segment's); objects without one fall
            # back to what pycocotools would compute: the mask area, else the box area.
            areas = [_fallback_area(o, image, decoded, i) if o.area is None else o.area
                     for i, o in enumerate(objects)]  # fmt: skip
        return cls(
            boxes=[o.box for o in objects],
            class_ids=[o.class_id for o in objects],
            iscrowd=[o.iscrowd for o in objects],
            masks=decoded,
            image_size=(image.width, image.height) if image.width and image.height else None,
            areas=areas,
        )


def _fallback_area(
    obj: ObjectAnnotation, image: ImageAnnotation, decoded: np.ndarray | None, index: int
) -> float:
    """An object's area when its source stores none: mask pixels, else the box's area."""
    if decoded is not None:
        return float(decoded[index].sum())
    if obj.has_mask and image.width and image.height:
        return float(_decode_mask(obj, image).sum())
    return float(max(obj.width, 0.0) * max(obj.height, 0.0))


def _decode_mask(obj: ObjectAnnotation, image: ImageAnnotation) -> np.ndarray:
    from pycocotools import mask as mask_utils

    from visiona.data.detection.masks import rle_to_mask

    if obj.rle is not None:
        return rle_to_mask(obj.rle)
    if obj.polygons:
        # pycocotools rasterises polygons its own way; use it so mask IoUs equal COCO's.
        rles = mask_utils.frPyObjects([list(p) for p in obj.polygons], image.height, image.width)
        return rle_to_mask(mask_utils.merge(rles))
    raise ValueError(
        f"{image.file}: an object of class {obj.class_id} has no mask (polygons or RLE); "
        f"mask metrics need one for every object"
    )
