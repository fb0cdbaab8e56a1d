"""Registry: duplicates refused, globs, close matches, tags."""

from __future__ import annotations

import pytest

from visiona.errors import UnknownNameError
from visiona.registry import Registry, split_tag


def test_duplicate_names_are_refused() -> None:
    registry: Registry[int] = Registry("model")
    registry.add("alpha", 1)
    with pytest.raises(ValueError, match="model 'alpha' is already registered"):
        registry.add("alpha", 2)
    assert registry.get("alpha") == 1


def test_register_decorator_and_glob_listing() -> None:
    registry: Registry[object] = Registry("model")
    for name in ("resnet18", "resnet50", "vit_b_16"):
        registry.register(name)(object())
    assert registry.names("resnet*") == ["resnet18", "resnet50"]
    assert registry.names("*_b_*") == ["vit_b_16"]
    assert len(registry) == 3 and "vit_b_16" in registry


def test_unknown_name_suggests_close_matches() -> None:
    registry: Registry[int] = Registry("model")
    registry.add("resnet18", 1)
    registry.add("resnet50", 2)
    with pytest.raises(UnknownNameError, match=r"unknown model 'resnet15'; did you mean") as info:
        registry.get("resnet15")
    assert "'resnet18'" in str(info.value) and "known: resnet18, resnet50" in str(info.value)
    with pytest.raises(UnknownNameError, match="did you mean") as info:
        registry.get("resnet")
    assert "'resnet18'" in str(info.value) and "'resnet50'" in str(info.value)
    with pytest.raises(UnknownNameError) as info:
        registry.get("xyz")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet50", ("resnet50", None)),
        ("resnet50.imagenet1k_v2", ("resnet50", "imagenet1k_v2")),
        ("timm/resnet18.a1_in1k", ("timm/resnet18", "a1_in1k")),
        ("timm/resnet18", ("timm/resnet18", None)),
        (".hidden", (".hidden", None)),
    ],
)
def test_split_tag(name: str, expected: tuple[str, str | None]) -> None:
    assert split_tag(name) == expected
