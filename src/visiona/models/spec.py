"""ModelSpec: how to build one architecture and which trained weights exist for it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from visiona.errors import UnknownNameError, UsageError
from visiona.weights.record import Preprocessing, Weights

if TYPE_CHECKING:
    from torch import nn

Builder = Callable[..., "nn.Module"]
"""``build(num_classes, weights_file, **options)`` → module; loads ``weights_file`` when given.
Architecture options (``blocks=4``) are accepted only by builders that declare them."""


@dataclass(frozen=True)
class ModelSpec:
    """One architecture in the catalogue.

    Attributes:
        name: Catalogue name (``"efficientnet_lite0"``, ``"resnet18"``, ``"timm/convnext_atto"``).
        task: Task the model's outputs serve (``"classify"``).
        family: Where it comes from (``"efficientnet-lite"``, ``"torchvision"``, ``"timm"``...).
        build: ``build(num_classes, weights_file)``; with a file, loads it (same class count).
        weights_factory: Returns the known pretrained variants, default first. Called lazily so
            listing names never imports heavy libraries.
        preprocessing: Preprocessing for randomly initialised models.
        num_classes: Output classes of a randomly initialised model by default.
        description: One line for listings.
        options_preprocessing: For configurable architectures, maps architecture options to the
            matching preprocessing (e.g. the CNN's input size); ``None`` means options are refused.
    """

    name: str
    task: str
    family: str
    build: Builder
    weights_factory: Callable[[], tuple[Weights, ...]] = tuple
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    num_classes: int = 1000
    description: str = ""
    options_preprocessing: Callable[[dict[str, Any] | None], Preprocessing] | None = None

    def preprocessing_for(self, options: dict[str, Any] | None) -> Preprocessing:
        """Preprocessing of a randomly initialised model built with ``options``."""
        if options and self.options_preprocessing is None:
            raise UsageError(f"model {self.name!r} takes no architecture options")
        if self.options_preprocessing is None:
            return self.preprocessing
        return self.options_preprocessing(options)

    @functools.cached_property
    def weights(self) -> tuple[Weights, ...]:
        """Known pretrained variants, default first (may be empty)."""
        return tuple(self.weights_factory())

    def weights_for(self, tag: str | None) -> Weights:
        """The variant called ``tag`` (``None`` or ``"default"`` gives the default one)."""
        if not self.weights:
            raise UnknownNameError(
                f"model {self.name!r} has no pretrained weights",
                hint="use pretrained=False (CLI: --random-init) or pass your own --weights FILE",
            )
        if tag is None or tag == "default":
            return self.weights[0]
        for candidate in self.weights:
            if candidate.tag == tag:
                return candidate
        known = ", ".join(w.tag for w in self.weights)
        raise UnknownNameError(f"model {self.name!r} has no weights tagged {tag!r}; known: {known}")
