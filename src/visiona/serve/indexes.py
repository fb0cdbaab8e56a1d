"""Similarity search over the REST API: ``POST /v1/indexes/{name}:search`` (image or text).

Indexes are files built by ``visiona index build``, named at start-up (``visiona serve --index
NAME=PATH``). Each is loaded on first use with its own embedder (kept for later queries). Hits
come back ranked with their cosine similarity and a thumbnail URL
(``GET /v1/indexes/{name}/images/{row}``), which only ever serves images the index holds.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request

from visiona.errors import InputNotFoundError, UsageError

if TYPE_CHECKING:
    from fastapi import FastAPI

THUMBNAIL = 256
MAX_K = 100


class UnknownIndexError(InputNotFoundError):
    """No index of that name (or no image of that number in it): HTTP 404."""

    http_status = 404


class IndexRegistry:
    """Indexes by name, loaded lazily (thread-safe) with a cached query embedder."""

    def __init__(self, indexes: list[tuple[str, str]]) -> None:
        self.paths = {name: Path(path) for name, path in indexes}
        self._loaded: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> tuple[Any, Any]:
        """``(ImageIndex, embed Predictor)`` of ``name``."""
        from visiona.engine.embed.index import load_index
        from visiona.engine.predict.predictor import Predictor

        if name not in self.paths:
            known = ", ".join(sorted(self.paths)) or "none"
            raise UnknownIndexError(f"no index named {name!r}; served: {known}")
        with self._lock:
            if name not in self._loaded:
                index = load_index(self.paths[name])
                predictor = Predictor.load(index.model_source, task="embed", device="cpu")
                self._loaded[name] = (index, predictor)
            return self._loaded[name]


def _query(body: dict[str, Any], raw_image: bytes | None) -> tuple[bytes | None, str | None, int]:
    text = body.get("text")
    image = raw_image
    if image is None and body.get("image") is not None:
        entry = str(body["image"])
        if entry.startswith("data:"):
            entry = entry.partition(",")[2]
        try:
            image = base64.b64decode(entry, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError('"image" is not valid base64') from None
    if (image is None) == (text is None):
        raise UsageError('send a query image or {"text": "..."} (one of them)')
    try:
        k = int(body.get("k", 10))
    except (TypeError, ValueError):
        raise UsageError('"k" must be an integer') from None
    if not 1 <= k <= MAX_K:
        raise UsageError(f'"k" must be between 1 and {MAX_K}')
    return image, None if text is None else str(text), k


def register_index_routes(app: FastAPI, indexes: list[tuple[str, str]]) -> IndexRegistry:
    """Add the index endpoints to ``app``; errors go through the app's VisionaError handler."""
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    registry = IndexRegistry(indexes)
    app.state.indexes = registry

    @app.get("/v1/indexes", tags=["search"])
    async def list_indexes() -> dict[str, Any]:
        return {"indexes": sorted(registry.paths)}

    @app.post("/v1/indexes/{name}:search", tags=["search"])
    async def search_index(name: str, request: Request) -> dict[str, Any]:
        """Body: JSON ``{"text": "a red car", "k": 10}`` or ``{"image": "<base64>", "k": 10}``,
        multipart (``file`` + ``k``/``text`` fields), or a raw image body (``?k=``)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body: dict[str, Any] = dict(request.query_params)
        raw: bytes | None = None
        if content_type == "application/json":
            try:
                payload = await request.json()
            except ValueError:
                raise UsageError("request body is not valid JSON") from None
            if not isinstance(payload, dict):
                raise UsageError("JSON body must be an object")
            body.update(payload)
        elif content_type == "multipart/form-data":
            form = await request.form(max_files=1, max_fields=8)
            for key, value in form.multi_items():
                if isinstance(value, str):
                    body[key] = value
                else:
                    raw = await value.read()
        elif content_type.startswith("image/") or content_type == "application/octet-stream":
            raw = await request.body()
        image, text, k = _query(body, raw)
        return await run_in_threadpool(_search, registry, name, image, text, k)

    @app.get("/v1/indexes/{name}/images/{row}", tags=["search"])
    async def index_image(name: str, row: int):
        data = await run_in_threadpool(_thumbnail, registry, name, row)
        return Response(data, media_type="image/jpeg")

    return registry


def _search(
    registry: IndexRegistry, name: str, image: bytes | None, text: str | None, k: int
) -> dict[str, Any]:
    from visiona.engine.embed.index import query_vectors

    index, predictor = registry.get(name)
    images = None if image is None else [image]
    queries = query_vectors(index, images=images, text=text, predictor=predictor)
    scores, rows = index.search(queries, k)
    hits = [
        {
            "rank": rank,
            "path": index.entries[int(row)]["path"],
            "score": float(score),
            "thumbnail": f"/v1/indexes/{name}/images/{int(row)}",
        }
        for rank, (score, row) in enumerate(zip(scores[0], rows[0], strict=True), start=1)
        if row >= 0
    ]
    return {"index": name, "model": index.model, "query": text or "image", "hits": hits}


def _thumbnail(registry: IndexRegistry, name: str, row: int) -> bytes:
    from PIL import Image

    from visiona.io.images import load_image

    index, _ = registry.get(name)
    if not 0 <= row < len(index):
        raise UnknownIndexError(f"index {name!r} has no image {row}")
    image = Image.fromarray(load_image(index.path_of(row)).array)
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()
