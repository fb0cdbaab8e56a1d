"""Offline augmentation: write an augmented copy of an image folder (the source is never touched).

Each source image yields ``copies`` augmented versions (the preset's random transforms at the
source resolution), saved under the same class folder names in the destination, optionally with
the original alongside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visiona.data.folder import scan_folder
from visiona.errors import ImageLoadError, UsageError

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class AugmentReport:
    destination: Path
    written: int
    skipped: list[tuple[str, str]]


def augment_folder(
    source: Path,
    destination: Path,
    *,
    preset: str = "strong",
    copies: int = 2,
    include_original: bool = True,
    hflip: bool = True,
    seed: int = 0,
    console: Console | None = None,
) -> AugmentReport:
    """Write ``copies`` augmented versions of every image of ``source`` into ``destination``.

    Raises:
        UsageError: ``destination`` is inside ``source``, already holds files, or options are bad.
    """
    import numpy as np
    import torch
    from PIL import Image

    from visiona.data.transforms import augmentation_steps
    from visiona.io.images import load_image
    from visiona.progress import progress_bar
    from visiona.weights.record import Preprocessing

    if copies < 1:
        raise UsageError("--copies must be at least 1")
    source, destination = source.expanduser(), destination.expanduser()
    if destination.resolve().is_relative_to(source.resolve()):
        raise UsageError("the destination must not be inside the source folder")
    if destination.exists() and any(destination.iterdir()):
        raise UsageError(f"{destination} is not empty; choose a new folder")
    folder = scan_folder(source)
    torch.manual_seed(seed)
    written, skipped = 0, []
    used: set[tuple[Path, str]] = set()
    with progress_bar("augmenting", len(folder.samples), console, min_items=1) as progress:
        task = progress.add_task("augment", total=len(folder.samples))
        for sample in folder.samples:
            progress.advance(task)
            try:
                image = load_image(sample.path)
            except ImageLoadError as error:
                skipped.append((str(sample.path), error.reason))
                continue
            steps = augmentation_steps(
                preset,
                Preprocessing(input_size=(image.height, image.width), resize="stretch",
                              resize_size=None),
                hflip,
            )  # fmt: skip
            from torchvision.transforms import v2

            transform = v2.Compose(steps)
            class_dir = folder.root / folder.classes[sample.label]
            relative = sample.path.relative_to(class_dir)
            out_dir = destination / folder.classes[sample.label] / relative.parent
            out_dir.mkdir(parents=True, exist_ok=True)
            # 1.jpg and 1.png in one folder must not overwrite each other's outputs.
            stem = sample.path.stem
            if (out_dir, stem) in used:
                stem = f"{stem}_{sample.path.suffix.lstrip('.').lower()}"
            used.add((out_dir, stem))
            tensor = torch.from_numpy(image.array).permute(2, 0, 1)
            if include_original:
                Image.fromarray(image.array).save(out_dir / f"{stem}.png")
                written += 1
            for index in range(copies):
                augmented = transform(tensor).permute(1, 2, 0).numpy()
                Image.fromarray(np.ascontiguousarray(augmented)).save(
                    out_dir / f"{stem}_aug{index}.png"
                )
                written += 1
    return AugmentReport(destination, written, skipped)
