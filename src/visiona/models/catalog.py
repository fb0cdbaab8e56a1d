"""The model catalogue: curated entries, then torchvision classifiers and detectors, then timm.

Names: ``efficientnet_lite0`` (curated), ``resnet50`` (torchvision), ``timm/convnext_atto``
(timm; a bare timm name works too when torchvision has no model of that name), each optionally
followed by ``.TAG`` to pick a weights variant (``resnet50.imagenet1k_v2``,
``timm/resnet18.a1_in1k``). ``torchvision/NAME`` forces torchvision.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable

from visiona.errors import UnknownNameError
from visiona.models import (
    efficientnet_lite,
    simple_cnn,
    small_detection,
    timm_models,
    tiny,
    torchvision_detection,
    torchvision_models,
)
from visiona.models.spec import ModelSpec
from visiona.registry import Registry, split_tag, unknown_name_error

MODELS: Registry[ModelSpec] = Registry("model")
for _spec in (
    efficientnet_lite.SPEC,
    simple_cnn.SPEC,
    tiny.SPEC,
    tiny.GATED_SPEC,
    *small_detection.specs(),
):
    MODELS.add(_spec.name, _spec)

DEFAULT_MODELS = {
    "classify": "efficientnet_lite0",
    "detect": "fasterrcnn_mobilenet_v3_large_320_fpn",
    "segment-instances": "maskrcnn_resnet50_fpn",
    "keypoints": "keypointrcnn_resnet50_fpn",
}
SOURCES = ("visiona", "torchvision", "timm")


@functools.cache
def _provider_spec(name: str) -> ModelSpec | None:
    if name.startswith(timm_models.PREFIX):
        return timm_models.spec_for(name)
    torchvision_spec = torchvision_detection.spec_for(name) or torchvision_models.spec_for(name)
    if name.startswith(torchvision_models.PREFIX):
        return torchvision_spec
    return torchvision_spec or timm_models.spec_for(name)


def get_spec(name: str) -> tuple[ModelSpec, str | None]:
    """The spec and weights tag (or None) for a model name.

    Raises:
        UnknownNameError: No catalogue, torchvision or timm model has that name; the message
            lists the closest names.
    """
    if not name or name.strip() != name:
        raise UnknownNameError(f"invalid model name {name!r}")
    for base, tag in _name_candidates(name):
        if base in MODELS:
            return MODELS.get(base), tag
        spec = _provider_spec(base)
        if spec is not None:
            return spec, tag
    base, _ = split_tag(name)
    raise unknown_name_error(
        "model",
        base,
        all_model_names(include_timm=True),
        "list models with: visiona weights list  (or visiona weights list 'PATTERN' --all)",
    )


def _name_candidates(name: str) -> Iterable[tuple[str, str | None]]:
    # "vit_b_16" has no tag but "x.y" might be a name with a dot; try the split first.
    base, tag = split_tag(name)
    yield base, tag
    if tag is not None:
        yield name, None


def all_model_names(*, include_timm: bool = False) -> list[str]:
    """Curated and torchvision names, plus timm's when asked (importing timm takes a second)."""
    names = list(MODELS)
    names += [n for n in torchvision_models.classification_names() if n not in MODELS]
    names += [n for n in torchvision_detection.detection_names() if n not in MODELS]
    if include_timm:
        names += [timm_models.PREFIX + n for n in timm_models.architecture_names()]
    return names


def list_specs(pattern: str = "*", sources: Iterable[str] = ("visiona",)) -> list[ModelSpec]:
    """Specs whose name matches a glob, from the given sources (visiona, torchvision, timm)."""
    sources = set(sources)
    unknown = sources - set(SOURCES)
    if unknown:
        raise UnknownNameError(f"unknown model source {sorted(unknown)[0]!r}; known: {SOURCES}")
    specs: list[ModelSpec] = []
    if "visiona" in sources:
        specs += [MODELS.get(n) for n in MODELS.names(pattern)]
    if "torchvision" in sources:
        for name in torchvision_models.classification_names():
            if fnmatch.fnmatchcase(name, pattern) and name not in MODELS:
                specs.append(torchvision_models.spec_for(name))
        for name in torchvision_detection.detection_names():
            if fnmatch.fnmatchcase(name, pattern) and name not in MODELS:
                specs.append(torchvision_detection.spec_for(name))
    if "timm" in sources:
        for name in timm_models.architecture_names():
            prefixed = timm_models.PREFIX + name
            if fnmatch.fnmatchcase(prefixed, pattern) or fnmatch.fnmatchcase(name, pattern):
                specs.append(timm_models.spec_for(name))
    return [s for s in specs if s is not None]
