"""Write embeddings to ``.npy`` (+ ``.json`` sidecar) or ``.parquet``, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visiona.errors import MissingDependencyError, UsageError

FORMATS = (".npy", ".parquet")


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
        write(tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)


def write_vectors(
    path: Path, sources: Sequence[str], vectors: np.ndarray, model: str, normalized: bool
) -> list[Path]:
    """Save ``(N, D)`` vectors with their sources; returns the files written.

    ``.npy``: the float32 matrix, plus ``NAME.npy.json`` with ``model``, ``normalized`` and the
    ``sources`` in row order. ``.parquet``: columns ``source``, ``model``, ``vector``
    (list<float32>), one row per image (pandas, polars, DuckDB and FiftyOne read it).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"-o {path}: use a .npy or .parquet file")
    vectors = np.asarray(vectors, np.float32)
    if suffix == ".npy":
        _atomic(path, lambda handle: np.save(handle, vectors))
        sidecar = path.with_name(path.name + ".json")
        meta = {"model": model, "normalized": normalized, "sources": list(sources)}
        _atomic(sidecar, lambda handle: handle.write(json.dumps(meta, indent=1).encode()))
        return [path, sidecar]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError(
            "writing .parquet needs pyarrow", hint='pip install "visiona[embed]" or use -o x.npy'
        ) from None
    table = pa.table(
        {
            "source": pa.array(list(sources), pa.string()),
            "model": pa.array([model] * len(sources), pa.string()),
            "vector": pa.array(list(vectors), pa.list_(pa.float32())),
        },
        metadata={"visiona.model": model, "visiona.normalized": str(normalized).lower()},
    )
    _atomic(path, lambda handle: pq.write_table(table, handle))
    return [path]


def read_vectors(path: Path) -> tuple[list[str], np.ndarray, str]:
    """``(sources, (N, D) vectors, model)`` of a file written by :func:`write_vectors`."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        meta = json.loads(path.with_name(path.name + ".json").read_text())
        return list(meta["sources"]), np.load(path), str(meta["model"])
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    vectors = np.asarray(table.column("vector").to_pylist(), np.float32)
    model = table.column("model")[0].as_py() if table.num_rows else ""
    return table.column("source").to_pylist(), vectors, model
