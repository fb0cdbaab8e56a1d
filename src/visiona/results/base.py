"""The base every task result shares: a JSON schema (``to_dict``), arrays and an overlay.

Results are frozen dataclasses validated on construction. ``to_dict()`` is the REST/JSON schema
(every dict carries ``"task"``), :func:`result_from_dict` inverts it, so a client gets back the
same objects the server made. ``draw(image)`` returns a new image and never alters its input.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np

R = TypeVar("R", bound="Result")

_RESULT_TYPES: dict[str, type[Result]] = {}


class Result(ABC):
    """A typed prediction for one image.

    Subclasses set ``task`` and register themselves with :func:`register_result`.
    """

    task: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the REST schema); includes ``"task"``."""

    @classmethod
    @abstractmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        """Inverse of :meth:`to_dict`."""

    @abstractmethod
    def numpy(self) -> dict[str, np.ndarray]:
        """The result's arrays by name."""

    @abstractmethod
    def draw(self, image: Any) -> Any:
        """A copy of ``image`` (PIL image or ``(H, W, 3)`` uint8 RGB array) with the result drawn."""

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)


def register_result(cls: type[R]) -> type[R]:
    """Class decorator: make ``cls`` findable by its ``task`` for :func:`result_from_dict`."""
    if cls.task in _RESULT_TYPES:
        raise ValueError(f"a result type for task {cls.task!r} is already registered")
    _RESULT_TYPES[cls.task] = cls
    return cls


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """Rebuild a result from its ``to_dict()`` form, choosing the type by ``data["task"]``."""
    task = data.get("task")
    if task not in _RESULT_TYPES:
        raise ValueError(f"unknown result task {task!r}; known: {sorted(_RESULT_TYPES)}")
    return _RESULT_TYPES[task].from_dict(data)


def as_array(values: Any, dtype: Any, shape_tail: tuple[int, ...] = ()) -> np.ndarray:
    """``values`` as a C-contiguous array of ``dtype``; empty input gets shape ``(0, *shape_tail)``."""
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    if array.size == 0:
        return array.reshape((0, *shape_tail))
    return array
