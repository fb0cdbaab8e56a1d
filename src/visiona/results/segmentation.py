"""SegmentationMap: one class id per pixel (semantic segmentation), with names and colours."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw

from visiona.results.base import Result, register_result
from visiona.results.detections import mask_to_rle, rle_to_mask
from visiona.results.draw import font, label_size, like_input, to_pil

IGNORE_INDEX = 255
"""Class id of pixels that are unlabelled / ignored (VOC's object borders, painter's eraser)."""


def voc_color(index: int) -> tuple[int, int, int]:
    """Pascal VOC's colour for class ``index`` (the bit-interleaved palette, any index < 256)."""
    r = g = b = 0
    c = index
    for shift in range(7, -1, -1):
        r |= ((c >> 0) & 1) << shift
        g |= ((c >> 1) & 1) << shift
        b |= ((c >> 2) & 1) << shift
        c >>= 3
    return (r, g, b)


def default_colors(count: int) -> tuple[tuple[int, int, int], ...]:
    """The VOC palette's first ``count`` colours (background black, then distinct hues)."""
    return tuple(voc_color(i) for i in range(count))


def palette_bytes(colors: Sequence[tuple[int, int, int]]) -> list[int]:
    """A 256-entry PIL palette: the class colours, white for the ignore index, black elsewhere."""
    flat = [0] * (256 * 3)
    for index, color in enumerate(colors[:255]):
        flat[index * 3 : index * 3 + 3] = list(color)
    flat[IGNORE_INDEX * 3 : IGNORE_INDEX * 3 + 3] = [255, 255, 255]
    return flat


def write_palette_png(path: str | Path, ids: np.ndarray, colors: Sequence[tuple[int, int, int]]):
    """Write ``(H, W)`` uint8 class ids as a palette PNG, atomically (temp file + fsync + rename)."""
    path = Path(path)
    image = Image.fromarray(np.asarray(ids, np.uint8), mode="P")
    image.putpalette(palette_bytes(colors))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    with open(partial, "wb") as handle:
        image.save(handle, format="PNG")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


@register_result
@dataclass(frozen=True)
class SegmentationMap(Result):
    """Semantic segmentation of one image: a class id for every pixel.

    Attributes:
        class_map: ``(H, W)`` uint8 class ids at the original image's resolution
            (:data:`IGNORE_INDEX` = unlabelled).
        names: Class id → name.
        colors: Class id → RGB colour (default: the VOC palette).
        probabilities: Optional ``(C, H, W)`` float32 class probabilities.
        model: Model that produced it.
        source: Where the image came from, if known.
    """

    class_map: np.ndarray
    names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...] = ()
    probabilities: np.ndarray | None = field(default=None, compare=False)
    model: str = ""
    source: str | None = None
    task: ClassVar[str] = "segment"

    def __post_init__(self) -> None:
        class_map = np.ascontiguousarray(np.asarray(self.class_map))
        if class_map.ndim != 2:
            raise ValueError(f"class_map must be (H, W), got {class_map.shape}")
        if class_map.size and (class_map.min() < 0 or class_map.max() > 255):
            raise ValueError("class ids must lie in 0-255")
        class_map = class_map.astype(np.uint8, copy=False)
        names = tuple(str(n) for n in self.names)
        if not names or len(names) > 255:
            raise ValueError(f"need 1-255 class names, got {len(names)}")
        labelled = class_map[class_map != IGNORE_INDEX]
        if labelled.size and int(labelled.max()) >= len(names):
            raise ValueError(f"class id {int(labelled.max())} but only {len(names)} class names")
        colors = tuple(tuple(int(v) for v in c) for c in self.colors) or default_colors(len(names))
        if len(colors) != len(names):
            raise ValueError(f"{len(colors)} colours for {len(names)} classes")
        object.__setattr__(self, "class_map", class_map)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "colors", colors)
        if self.probabilities is not None:
            probs = np.ascontiguousarray(np.asarray(self.probabilities, np.float32))
            if probs.shape != (len(names), *class_map.shape):
                raise ValueError(f"probabilities must be (C, H, W), got {probs.shape}")
            object.__setattr__(self, "probabilities", probs)

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return (self.class_map.shape[1], self.class_map.shape[0])

    @property
    def areas(self) -> dict[str, int]:
        """Pixels per class name (classes absent from the image included, with 0)."""
        counts = np.bincount(self.class_map.reshape(-1), minlength=256)
        return {name: int(counts[i]) for i, name in enumerate(self.names)}

    def mask(self, class_id: int | str) -> np.ndarray:
        """``(H, W)`` bool mask of one class (by id or name)."""
        index = self.names.index(class_id) if isinstance(class_id, str) else int(class_id)
        return self.class_map == index

    def present(self) -> list[int]:
        """Ids of the classes that cover at least one pixel."""
        counts = np.bincount(self.class_map.reshape(-1), minlength=256)
        return [i for i in range(len(self.names)) if counts[i]]

    def colorize(self) -> np.ndarray:
        """``(H, W, 3)`` uint8 colour image of the class map (ignored pixels white)."""
        lut = np.zeros((256, 3), np.uint8)
        lut[: len(self.colors)] = self.colors
        lut[IGNORE_INDEX] = 255
        return lut[self.class_map]

    def save_mask(self, path: str | Path) -> Path:
        """Write the class ids as a palette PNG (pixel value = class id), atomically."""
        return write_palette_png(path, self.class_map, self.colors)

    def to_dict(self) -> dict[str, Any]:
        """Per-class RLE (COCO uncompressed, column-major) and pixel areas of present classes."""
        areas = self.areas
        return {
            "task": self.task,
            "model": self.model,
            "source": self.source,
            "image_size": list(self.image_size),
            "names": list(self.names),
            "colors": [list(c) for c in self.colors],
            "classes": [
                {
                    "class_id": i,
                    "name": self.names[i],
                    "area": areas[self.names[i]],
                    "fraction": round(areas[self.names[i]] / max(1, self.class_map.size), 6),
                    "mask": mask_to_rle(self.class_map == i),
                }
                for i in self.present()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentationMap:
        width, height = data["image_size"]
        class_map = np.full((height, width), IGNORE_INDEX, np.uint8)
        for entry in data.get("classes", []):
            class_map[rle_to_mask(entry["mask"])] = int(entry["class_id"])
        return cls(
            class_map=class_map,
            names=tuple(data["names"]),
            colors=tuple(tuple(c) for c in data.get("colors", ())),
            model=data.get("model", ""),
            source=data.get("source"),
        )

    def numpy(self) -> dict[str, np.ndarray]:
        arrays = {"class_map": self.class_map}
        if self.probabilities is not None:
            arrays["probabilities"] = self.probabilities
        return arrays

    def draw(self, image: Any, opacity: float = 0.5, legend: bool = True) -> Any:
        """``image`` with the class colours blended over it (``opacity``) and a legend of the
        classes present (name and share of the image)."""
        canvas = to_pil(image)
        if canvas.size != self.image_size:
            raise ValueError(f"image is {canvas.size}, the map is {self.image_size} (W, H)")
        pixels = np.asarray(canvas, np.float32)
        overlay = self.colorize().astype(np.float32)
        weight = np.where(self.class_map == IGNORE_INDEX, 0.0, float(opacity))[..., None]
        blended = np.round(pixels * (1 - weight) + overlay * weight).astype(np.uint8)
        drawn = Image.fromarray(blended)
        if legend:
            self._draw_legend(drawn)
        return like_input(drawn, image)

    def _draw_legend(self, image: Image.Image) -> None:
        draw = ImageDraw.Draw(image)
        size = label_size(image)
        text_font = font(size)
        areas = self.areas
        total = max(1, self.class_map.size)
        y = 2
        for index in self.present():
            name = self.names[index]
            text = f"{name} {100 * areas[name] / total:.0f}%"
            _, _, right, bottom = draw.textbbox((size + 8, y), text, font=text_font)
            draw.rectangle((2, y, right + 4, bottom + 2), fill=(0, 0, 0))
            draw.rectangle((4, y + 2, 4 + size, y + 2 + size), fill=self.colors[index])
            draw.text((size + 8, y), text, fill=(255, 255, 255), font=text_font)
            y = bottom + 4
