"""Embed many image files once: cached vectors are reused, the rest go through the Predictor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visiona.engine.embed.cache import EmbeddingCache, content_hash

if TYPE_CHECKING:
    from rich.console import Console

    from visiona.engine.predict.predictor import Predictor


@dataclass
class EmbeddedFiles:
    """Vectors of the files that could be embedded, in input order.

    Attributes:
        paths: Files embedded, in input order (failed ones left out).
        hashes: sha256 of each file's bytes.
        vectors: ``(N, D)`` float32.
        failed: ``(path, reason)`` of files that could not be read (or had nothing to embed).
        computed: How many vectors were computed in this run (the rest came from the cache).
    """

    paths: list[Path]
    hashes: list[str]
    vectors: np.ndarray
    failed: list[tuple[Path, str]] = field(default_factory=list)
    computed: int = 0


def embed_files(
    predictor: Predictor,
    files: Sequence[Path],
    *,
    normalize: bool = True,
    use_cache: bool = True,
    console: Console | None = None,
    label: str = "embedding",
) -> EmbeddedFiles:
    """Embed ``files`` with ``predictor`` (an ``embed`` Predictor), reusing cached vectors.

    Raises:
        ValueError: ``predictor`` is not an embedder.
    """
    from visiona.engine.evaluate.progress import evaluation_progress
    from visiona.models.embedders import embedder_key

    if predictor.model.task != "embed":
        raise ValueError("embed_files needs an embed Predictor")
    key = embedder_key(predictor.model) if use_cache else None
    cache = EmbeddingCache(key, normalized=normalize) if key else None
    files = [Path(f) for f in files]
    hashes: list[str | None] = []
    failed: list[tuple[Path, str]] = []
    for path in files:
        try:
            hashes.append(content_hash(path))
        except OSError as error:
            hashes.append(None)
            failed.append((path, error.strerror or str(error)))
    vectors: dict[int, np.ndarray] = {}
    todo: list[int] = []
    for index, digest in enumerate(hashes):
        if digest is None:
            continue
        cached = cache.get(digest) if cache else None
        if cached is not None:
            vectors[index] = cached
        else:
            todo.append(index)
    fresh: list[tuple[str, np.ndarray]] = []
    with evaluation_progress(console, len(todo), label) as advance:
        items = predictor.stream([files[i] for i in todo], normalize=normalize) if todo else []
        for index, item in zip(todo, items, strict=True):
            advance(1)
            if item.error is not None:
                failed.append((files[index], item.error.reason))
            elif item.result.empty:
                failed.append((files[index], "nothing to embed (no face found)"))
            else:
                vectors[index] = item.result.vector
                fresh.append((hashes[index], item.result.vector))
    if cache is not None:
        cache.add(fresh)
    order = sorted(vectors)
    dimension = len(vectors[order[0]]) if order else 0
    return EmbeddedFiles(
        paths=[files[i] for i in order],
        hashes=[hashes[i] for i in order],  # type: ignore[misc]
        vectors=np.stack([vectors[i] for i in order]) if order else np.zeros((0, dimension)),
        failed=sorted(failed, key=lambda item: files.index(item[0])),
        computed=len(fresh),
    )
