"""A small generic registry: names to objects, with helpful errors.

Names are lower-case identifiers; a model name may carry a weights tag after a dot
(``resnet50.imagenet1k_v2``), which :func:`split_tag` separates. Registries refuse duplicate names
and answer unknown ones with the closest known names.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from visiona.errors import UnknownNameError

T = TypeVar("T")


def split_tag(name: str) -> tuple[str, str | None]:
    """Split ``"resnet50.imagenet1k_v2"`` into ``("resnet50", "imagenet1k_v2")``.

    Only the last dot separates the tag, so provider prefixes such as ``timm/`` are kept in the
    architecture part: ``"timm/resnet50.a1_in1k"`` gives ``("timm/resnet50", "a1_in1k")``.
    """
    base, dot, tag = name.rpartition(".")
    if not dot or not base or not tag or "/" in tag:
        return name, None
    return base, tag


def close_matches(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The known names most similar to ``name`` (best first), for "did you mean" hints."""
    pool = list(dict.fromkeys(candidates))
    matches = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if not matches:
        # A prefix match catches "resnet" -> "resnet18", which difflib scores too low.
        matches = [c for c in pool if c.startswith(name)][:limit]
    return matches


def unknown_name_error(
    kind: str, name: str, candidates: Iterable[str], fix: str
) -> UnknownNameError:
    """Build the one-line error for an unknown name, with close matches when there are any."""
    suggestions = close_matches(name, candidates)
    message = f"unknown {kind} {name!r}"
    if suggestions:
        message += "; did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
    return UnknownNameError(message, hint=fix)


class Registry(Generic[T]):
    """Maps unique names to objects of one kind (model specs, tasks, backends...).

    Args:
        kind: What the entries are, used in error messages ("model", "task").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name``; a name may be registered once only."""
        if not name or name != name.strip():
            raise ValueError(f"invalid {self.kind} name {name!r}")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """The object registered as ``name``; unknown names raise with close matches."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)[:10]) + (", ..." if len(self._items) > 10 else "")
            raise unknown_name_error(self.kind, name, self._items, f"known: {known}") from None

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style glob, sorted."""
        return sorted(n for n in self._items if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
