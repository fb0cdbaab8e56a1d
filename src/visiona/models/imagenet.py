"""ImageNet class names, loaded lazily from torchvision (no copy of the list in visiona)."""

from __future__ import annotations

import functools


@functools.cache
def imagenet1k_class_names() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k labels in index order, as torchvision names them."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return tuple(_IMAGENET_CATEGORIES)


def numbered_class_names(num_classes: int) -> tuple[str, ...]:
    """``("class_0", "class_1", ...)`` for models whose classes have no names yet."""
    return tuple(f"class_{index}" for index in range(num_classes))
