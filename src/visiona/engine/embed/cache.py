"""An on-disk embedding cache keyed by embedder and file content, so nothing is embedded twice.

``$VISIONA_HOME/embeddings/<embedder key>/`` holds shards ``shard-*.npz``, each with ``hashes``
(sha256 of the image file's bytes) and ``vectors`` ``(n, D)`` float32. A run adds one shard with
what it computed (written to a temporary file and renamed), so a second run over the same folder
plus one new image embeds one image. Keys change with the weights (catalogue sha256 or the
checkpoint's own hash), so a retrained model never reads stale vectors.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from visiona.weights.cache import visiona_home


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes (what the image is, whatever its name or modification time)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_root() -> Path:
    return visiona_home() / "embeddings"


class EmbeddingCache:
    """Vectors of one embedder, by image content hash.

    Args:
        key: The embedder's cache key (:func:`visiona.models.embedders.embedder_key`).
        normalized: Whether vectors are L2-normalised (part of the key).
        root: Cache folder (default ``$VISIONA_HOME/embeddings``).
    """

    def __init__(self, key: str, normalized: bool = True, root: Path | None = None) -> None:
        safe = re.sub(r"[^\w.-]+", "_", key) + ("" if normalized else "-raw")
        self.folder = (root or cache_root()) / safe
        self._vectors: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            for shard in sorted(self.folder.glob("shard-*.npz")):
                try:
                    with np.load(shard) as data:
                        hashes, vectors = data["hashes"], data["vectors"]
                except (OSError, ValueError, KeyError):
                    continue  # a damaged shard only costs recomputation
                self._vectors.update(zip(hashes.tolist(), vectors, strict=True))
        return self._vectors

    def __len__(self) -> int:
        return len(self._load())

    def get(self, digest: str) -> np.ndarray | None:
        return self._load().get(digest)

    def add(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store new ``(hash, vector)`` pairs as one shard; returns how many were new."""
        known = self._load()
        fresh = [(h, np.asarray(v, np.float32)) for h, v in items if h not in known and len(v)]
        if not fresh:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        hashes = np.array([h for h, _ in fresh])
        vectors = np.stack([v for _, v in fresh])
        with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, hashes=hashes, vectors=vectors)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, self.folder / f"shard-{uuid.uuid4().hex[:12]}.npz")
        known.update(fresh)
        return len(fresh)
