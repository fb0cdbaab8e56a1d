"""Similarity indexes over image folders: FAISS, incremental, in one atomically written file.

A ``NAME.index`` file is a zip holding ``meta.json`` (format, embedder, folder, one entry per
image: relative path, size, mtime, sha256), ``vectors.npy`` ``(N, D)`` (unit vectors) and
``index.faiss`` (the serialised FAISS index, inner product = cosine similarity):

- exact ``IndexFlatIP`` up to :data:`FLAT_LIMIT` vectors, then HNSW (``IndexHNSWFlat``, no
  training) or IVF (``IndexIVFFlat``, trained on the vectors) — ``kind="auto"`` picks HNSW;
- rebuilding over the same folder embeds only new or changed files (same path, size and mtime,
  or the same content hash, reuse the stored vector); removed files are dropped;
- the new file is written beside the old one and renamed over it, so a failed build leaves the
  previous index intact.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visiona.errors import MissingDependencyError, UsageError, VisionaError

if TYPE_CHECKING:
    from rich.console import Console

FORMAT = "visiona.index/1"
FLAT_LIMIT = 20_000
KINDS = ("auto", "flat", "hnsw", "ivf")
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


class IndexFileError(VisionaError):
    """An index file that cannot be read (corrupt, truncated, not an index)."""


def _faiss():
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError(
            "similarity search needs FAISS", hint='pip install "visiona[embed]"  (faiss-cpu)'
        ) from None
    return faiss


@dataclass
class ImageIndex:
    """A loaded index.

    Attributes:
        model: Embedder name that made the vectors (``Weights.full_name``).
        model_source: What to load to embed queries (catalogue name or checkpoint path).
        root: The indexed folder.
        entries: Per image: ``path`` (relative to ``root``), ``size``, ``mtime_ns``, ``sha256``.
        vectors: ``(N, D)`` float32 unit vectors, rows matching ``entries``.
        kind: ``flat``, ``hnsw`` or ``ivf``.
        text: Whether the embedder has a text tower (text queries).
        faiss_index: The FAISS index (built on load when absent).
    """

    model: str
    model_source: str
    root: Path
    entries: list[dict[str, Any]]
    vectors: np.ndarray
    kind: str = "flat"
    text: bool = False
    faiss_index: Any = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    def path_of(self, row: int) -> Path:
        return self.root / self.entries[row]["path"]

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """``(Q, D)`` unit queries → ``(Q, k)`` cosine scores and row ids (``-1``: no hit)."""
        queries = np.ascontiguousarray(np.asarray(queries, np.float32).reshape(-1, self.dimension))
        if not len(self):
            empty = np.full((len(queries), k), -1)
            return empty.astype(np.float32), empty
        return self.faiss_index.search(queries, min(k, len(self)))


def make_faiss_index(vectors: np.ndarray, kind: str = "auto", flat_limit: int = FLAT_LIMIT):
    """A FAISS inner-product index over ``(N, D)`` unit vectors; returns ``(index, kind)``."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, np.float32)
    count, dimension = vectors.shape
    if kind not in KINDS:
        raise UsageError(f"unknown index kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = "flat" if count <= flat_limit else "hnsw"
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        lists = max(1, min(int(4 * np.sqrt(count)), count // 39 or 1))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, min(lists, max(8, lists // 3)))
    if count:
        index.add(vectors)
    return index, kind


def save_index(index: ImageIndex, path: Path) -> Path:
    """Write ``index`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    faiss = _faiss()
    meta = {
        "format": FORMAT,
        "model": index.model,
        "model_source": index.model_source,
        "root": str(index.root),
        "kind": index.kind,
        "text": index.text,
        "dimension": index.dimension,
        "entries": index.entries,
    }
    vectors = io.BytesIO()
    np.save(vectors, np.asarray(index.vectors, np.float32))
    serialised = faiss.serialize_index(index.faiss_index).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("meta.json", json.dumps(meta))
            archive.writestr("vectors.npy", vectors.getvalue())
            archive.writestr("index.faiss", serialised)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return path


def load_index(path: Path) -> ImageIndex:
    """Read an index file.

    Raises:
        InputNotFoundError: No such file.
        IndexFileError: Not an index, corrupt or truncated (one line, no traceback).
    """
    from visiona.errors import InputNotFoundError

    faiss = _faiss()
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(
            f"index not found: {str(path)!r}",
            hint="build one with: visiona index build DIR -o NAME.index",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("meta.json"))
            vectors = np.load(io.BytesIO(archive.read("vectors.npy")))
            serialised = np.frombuffer(archive.read("index.faiss"), dtype=np.uint8)
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown format {meta.get('format')!r}")
        faiss_index = faiss.deserialize_index(serialised)
        if faiss_index.ntotal != len(meta["entries"]) or len(vectors) != len(meta["entries"]):
            raise ValueError("vectors and entries disagree")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError, EOFError) as error:
        raise IndexFileError(
            f"{path} is not a readable visiona index ({str(error).splitlines()[0][:120]})",
            hint="rebuild it with: visiona index build DIR -m MODEL -o " + str(path),
        ) from None
    if hasattr(faiss_index, "hnsw"):
        faiss_index.hnsw.efSearch = HNSW_EF_SEARCH
    return ImageIndex(
        model=meta["model"],
        model_source=meta["model_source"],
        root=Path(meta["root"]),
        entries=meta["entries"],
        vectors=vectors,
        kind=meta.get("kind", "flat"),
        text=bool(meta.get("text")),
        faiss_index=faiss_index,
    )


@dataclass
class BuildReport:
    """What a build did."""

    path: Path
    index: ImageIndex
    embedded: int
    reused: int
    removed: int
    failed: list[tuple[Path, str]] = field(default_factory=list)


def build_index(
    folder: str | Path,
    output: str | Path,
    *,
    model: str | None = None,
    kind: str = "auto",
    flat_limit: int = FLAT_LIMIT,
    device: str = "auto",
    batch_size: int = 16,
    console: Console | None = None,
) -> BuildReport:
    """Index every image below ``folder`` into ``output``, reusing an existing index there.

    Args:
        folder: Images to index (recursively).
        output: The ``.index`` file; when it exists, only new or changed images are embedded.
        model: Embedder (default: the existing index's, else ``efficientnet_lite0``).
        kind: ``auto`` (exact up to ``flat_limit`` vectors, then HNSW), ``flat``, ``hnsw``, ``ivf``.

    Raises:
        UsageError: ``model`` differs from the one the existing index was built with.
        IndexFileError: The existing file is not a readable index (it is left as it is).
    """
    from visiona.data.sources import expand_inputs
    from visiona.engine.embed.cache import content_hash
    from visiona.engine.embed.compute import embed_files
    from visiona.engine.predict.predictor import Predictor

    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        from visiona.errors import InputNotFoundError

        raise InputNotFoundError(f"folder not found: {str(folder)!r}")
    output = Path(output)
    previous = load_index(output) if output.exists() else None
    source = model or (previous.model_source if previous else "efficientnet_lite0")
    predictor = Predictor.load(
        source, task="embed", device=device, batch_size=batch_size, console=console
    )
    name = predictor.weights.full_name
    if previous is not None and previous.model != name:
        raise UsageError(
            f"{output} was built with {previous.model}, not {name}",
            hint=f"rebuild it under another name, or use -m {previous.model_source}",
        )
    old_rows: dict[str, int] = {}
    old_hashes: dict[str, int] = {}
    if previous is not None and previous.root == root:
        old_rows = {entry["path"]: row for row, entry in enumerate(previous.entries)}
        old_hashes = {entry["sha256"]: row for row, entry in enumerate(previous.entries)}
    files = expand_inputs([root])
    entries: list[dict[str, Any]] = []
    vectors: list[np.ndarray | None] = []
    todo: list[int] = []
    failed: list[tuple[Path, str]] = []
    for path in files:
        relative = str(path.relative_to(root))
        try:
            stat = path.stat()
            row = old_rows.get(relative)
            old = previous.entries[row] if previous is not None and row is not None else None
            if old and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
                digest = old["sha256"]
            else:
                digest = content_hash(path)
                row = old_hashes.get(digest)
        except OSError as error:
            failed.append((path, error.strerror or str(error)))
            continue
        entries.append(
            {"path": relative, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        )
        if row is not None and previous is not None:
            vectors.append(previous.vectors[row])
        else:
            vectors.append(None)
            todo.append(len(entries) - 1)
    embedded = embed_files(predictor, [root / entries[i]["path"] for i in todo], console=console)
    by_path = dict(zip(embedded.paths, embedded.vectors, strict=True))
    failed.extend(embedded.failed)
    kept_entries, kept_vectors = [], []
    for entry, vector in zip(entries, vectors, strict=True):
        vector = vector if vector is not None else by_path.get(root / entry["path"])
        if vector is not None:
            kept_entries.append(entry)
            kept_vectors.append(vector)
    if not kept_vectors:
        raise VisionaError(
            f"none of the {len(files)} images in {root} could be embedded; nothing was written"
        )
    matrix = np.stack(kept_vectors).astype(np.float32)
    faiss_index, built_kind = make_faiss_index(matrix, kind, flat_limit)
    module = predictor.model.module
    model_source = predictor.model.source
    if Path(model_source).exists():  # a checkpoint: found again from any working folder
        model_source = str(Path(model_source).resolve())
    index = ImageIndex(
        model=name,
        model_source=model_source,
        root=root,
        entries=kept_entries,
        vectors=matrix,
        kind=built_kind,
        text=bool(getattr(module, "supports_text", False)),
        faiss_index=faiss_index,
    )
    save_index(index, output)
    reused = len(kept_entries) - len(embedded.paths)
    removed = 0
    if previous is not None:
        removed = len(previous.entries) - len(set(old_rows) & {e["path"] for e in kept_entries})
    return BuildReport(output, index, len(embedded.paths), reused, removed, failed)


def query_vectors(
    index: ImageIndex,
    *,
    images: list[Any] | None = None,
    text: str | None = None,
    model: str | None = None,
    device: str = "auto",
    predictor: Any = None,
) -> np.ndarray:
    """``(Q, D)`` unit query vectors from images (paths, arrays, bytes) or a text, embedded by
    the index's own model (or by ``predictor``, an embed Predictor loaded once by a server).

    Raises:
        UsageError: ``model`` is not the index's, or text search on an index without a text tower.
    """
    import torch

    from visiona.engine.predict.predictor import Predictor
    from visiona.tasks.embed import l2_normalize

    if predictor is None:
        predictor = Predictor.load(model or index.model_source, task="embed", device=device)
    if predictor.weights.full_name != index.model:
        raise UsageError(
            f"the index was built with {index.model}; the query model is "
            f"{predictor.weights.full_name}",
            hint="drop -m to use the index's own model",
        )
    if text is not None:
        module = predictor.model.module
        if not (index.text and getattr(module, "supports_text", False)):
            raise UsageError(
                f"text search needs a CLIP/SigLIP index; this one was built with {index.model}",
                hint="build one with: visiona index build DIR -m clip -o NAME.index",
            )
        if not text.strip():
            raise UsageError("the search text is empty")
        with torch.inference_mode():
            return l2_normalize(module.encode_text([text]).numpy())
    results = predictor.predict(images or [])
    return np.stack([result.vector for result in results])


def duplicate_groups(index: ImageIndex, threshold: float = 0.75) -> list[list[int]]:
    """Groups (rows, largest first) of images whose cosine similarity reaches ``threshold``,
    joined transitively; exact search, so no pair above the threshold is missed."""
    faiss = _faiss()
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be in (0, 1], got {threshold}")
    count = len(index)
    if count < 2:
        return []
    exact = faiss.IndexFlatIP(index.dimension)
    exact.add(np.ascontiguousarray(index.vectors, np.float32))
    limits, _, ids = exact.range_search(np.ascontiguousarray(index.vectors), threshold - 1e-6)
    parent = list(range(count))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in range(count):
        for other in ids[limits[row] : limits[row + 1]]:
            if other != row:
                parent[find(int(other))] = find(row)
    groups: dict[int, list[int]] = {}
    for row in range(count):
        groups.setdefault(find(row), []).append(row)
    found = [sorted(group) for group in groups.values() if len(group) > 1]
    return sorted(found, key=lambda group: (-len(group), group[0]))
