"""A torch Dataset over labelled samples, and the up-front check that finds unreadable images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from visiona.data.folder import Sample
from visiona.errors import ImageLoadError, VisionaError
from visiona.io.images import load_image

if TYPE_CHECKING:
    import torch
    from rich.console import Console


@dataclass(frozen=True)
class BadImage:
    """An image left out of a dataset, and why."""

    path: str
    reason: str


def check_images(
    samples: Sequence[Sample],
    *,
    max_bad_fraction: float = 0.05,
    console: Console | None = None,
    label: str = "checking images",
) -> tuple[list[Sample], list[BadImage]]:
    """Decode every image once; return the readable samples and the unreadable ones.

    Raises:
        VisionaError: More than ``max_bad_fraction`` of the images are unreadable (the data is
            probably not what the user meant to train on).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    def check(sample: Sample) -> BadImage | None:
        try:
            load_image(sample.path)
        except ImageLoadError as error:
            return BadImage(str(sample.path), error.reason)
        return None

    good: list[Sample] = []
    bad: list[BadImage] = []
    with (
        ThreadPoolExecutor(max_workers=4) as pool,
        Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=console is None or not console.is_terminal,
        ) as progress,
    ):
        task = progress.add_task(label, total=len(samples))
        for sample, problem in zip(samples, pool.map(check, samples), strict=True):
            if problem is None:
                good.append(sample)
            else:
                bad.append(problem)
            progress.advance(task)
    if samples and len(bad) / len(samples) > max_bad_fraction:
        shown = "; ".join(f"{b.path}: {b.reason}" for b in bad[:3])
        raise VisionaError(
            f"{len(bad)} of {len(samples)} images cannot be read "
            f"(more than {max_bad_fraction:.0%}); first: {shown}",
            hint="fix or remove them, or raise the limit with --max-bad-fraction",
        )
    return good, bad


class ImageDataset:
    """``dataset[i]`` → ``(image tensor (3, H, W) float32, label int)``.

    Args:
        samples: Labelled image files.
        transform: Maps a ``(3, H, W)`` uint8 tensor to the network input.
    """

    def __init__(self, samples: Sequence[Sample], transform: Callable[[Any], torch.Tensor]) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        import torch

        sample = self.samples[index]
        image = load_image(sample.path).array
        tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
        return self.transform(tensor), sample.label

    @property
    def labels(self) -> list[int]:
        return [sample.label for sample in self.samples]
