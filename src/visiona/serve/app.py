"""The FastAPI application: predict, model listing, health, metrics, management and the web page.

Endpoints (``{name}`` is a served model's name):

* ``GET /v1/models``, ``GET /v1/models/{name}``: name, task, classes, input size, backend, version.
* ``POST /v1/models/{name}:predict``: multipart image(s), a raw image body, or JSON
  ``{"images": ["<base64>", ...], "options": {"top_k": 3}}``; options may also be query or form
  fields. Answers ``{"model", "version", "results": [Result.to_dict(), ...]}``.
* ``POST /v1/models`` / ``DELETE /v1/models/{name}``: load / unload (bearer token).
* ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /metrics``, ``GET /docs``, ``GET /``.
* KServe v2 / Open Inference Protocol (``/v2/...``) and TF-Serving REST (``instances``/``inputs``
  bodies on ``:predict``, ``/v1/models/{name}/metadata``): see :mod:`visiona.serve.protocols`.

Errors are JSON ``{"error": {"code", "message"}}`` with a 4xx status for anything the client sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import io
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from visiona.errors import ImageLoadError, VisionaError
from visiona.serve.batching import QueueFullError
from visiona.serve.limits import BodyLimitMiddleware, Limits, safe_source_name
from visiona.serve.models import ModelManager, ServedModel
from visiona.serve.protocols import kserve_v2, tf_serving
from visiona.serve.protocols.errors import StringErrorMiddleware

__all__ = ["ServeConfig", "create_app"]

STATIC = Path(__file__).parent / "static"


@dataclass
class ServeConfig:
    """Everything the app needs.

    Attributes:
        models: Initial ``(name, source)`` pairs, loaded in the background after start.
        limits: Request limits.
        max_batch: Largest batch per model (1 turns batching off).
        max_wait_ms: Batching window after the first queued request.
        max_queue: Waiting requests per model before 429.
        token: Bearer token for management (generated when ``None``).
        cors_origins: Origins allowed by CORS (none by default).
        pretrained: Load pretrained weights (``False``: random init, for tests).
        device: Where torch models run: auto, cpu, cuda, cuda:N or mps.
    """

    models: list[tuple[str, str]] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    max_batch: int = 8
    max_wait_ms: float = 5.0
    max_queue: int = 64
    token: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    pretrained: bool = True
    device: str = "auto"


class LoadRequest(BaseModel):
    """Body of ``POST /v1/models``."""

    name: str
    source: str
    task: str | None = None
    pretrained: bool = True


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": status, "message": message}}, status_code=status, headers=headers
    )


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "visiona_requests", "Predict requests", ["model", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "visiona_request_latency_seconds", "Predict latency", ["model"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )  # fmt: skip
        self.batch = Histogram(
            "visiona_batch_size", "Images per forward pass", ["model"], registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )  # fmt: skip
        self.queue = Gauge(
            "visiona_queue_depth", "Requests waiting", ["model"], registry=self.registry
        )
        self.rejects = Counter(
            "visiona_rejects", "Refused requests", ["model", "reason"], registry=self.registry
        )


def _error_status(error: ImageLoadError) -> int:
    reason = error.reason
    if "unsupported image format" in reason or "not a recognised image" in reason:
        return 415
    if ("limit" in reason and "pixel" in reason) or " MP" in reason:
        return 413
    return 422


def _task_options(served: ServedModel) -> dict[str, Any]:
    """Option name → default for the task's keyword-only postprocess options."""
    task = getattr(served.predictor, "task", None)
    if task is None or served.task in ("faces", "pose", "hands", "facemesh", "matting"):
        return {}
    params = inspect.signature(task.postprocess).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and isinstance(p.default, int | float)
    }


def _coerce_options(served: ServedModel, raw: dict[str, Any]) -> dict[str, Any]:
    allowed = _task_options(served)
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ApiError(400, f"unknown option {key!r} for task {served.task}; known: {known}")
        kind = (
            int if isinstance(allowed[key], int) and not isinstance(allowed[key], bool) else float
        )
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ApiError(
                400, f"option {key!r} must be a {kind.__name__}, got {value!r}"
            ) from None
        if number < 0 or (kind is float and number > 1 and key in ("conf", "iou")):
            raise ApiError(400, f"option {key!r} is out of range: {value!r}")
        if kind is int and number < 1:
            raise ApiError(400, f"option {key!r} must be at least 1, got {value!r}")
        options[key] = number
    return options


async def _read_inputs(request: Request, limits: Limits) -> tuple[list[tuple[str, bytes]], dict]:
    """The uploaded images as ``(display name, bytes)`` and the raw options."""
    options: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    images: list[tuple[str, bytes]] = []
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=limits.max_files, max_fields=64)
        except HTTPException as error:
            raise ApiError(
                413 if "files" in str(error.detail) else 400, str(error.detail)
            ) from None
        for key, value in form.multi_items():
            if isinstance(value, str):
                options[key] = value
            else:
                data = await value.read()
                images.append((safe_source_name(value.filename, len(images)), data))
    elif content_type == "application/json":
        try:
            payload = await request.json()
        except ValueError:
            raise ApiError(400, "request body is not valid JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("images"), list):
            raise ApiError(400, 'JSON body must be {"images": ["<base64>", ...], "options": {}}')
        if len(payload["images"]) > limits.max_files:
            raise ApiError(413, f"more than {limits.max_files} images in one request")
        for index, entry in enumerate(payload["images"]):
            name = None
            if isinstance(entry, dict):
                name, entry = entry.get("name"), entry.get("b64")
            if not isinstance(entry, str):
                raise ApiError(400, f"images[{index}] must be a base64 string")
            if entry.startswith("data:"):
                entry = entry.partition(",")[2]
            try:
                data = base64.b64decode(entry, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, f"images[{index}] is not valid base64") from None
            images.append((safe_source_name(name, index), data))
        extra = payload.get("options") or {}
        if not isinstance(extra, dict):
            raise ApiError(400, '"options" must be an object')
        options.update(extra)
    elif content_type.startswith("image/") or content_type == "application/octet-stream":
        images.append(("image0", await request.body()))
    else:
        raise ApiError(
            415,
            f"unsupported content type {content_type or '(none)'!r}; send multipart/form-data, "
            "application/json with base64 images, or a raw image body",
        )
    if not images:
        raise ApiError(400, "no image in the request")
    if len(images) > limits.max_files:
        raise ApiError(413, f"more than {limits.max_files} images in one request")
    return images, options


def _decode(name: str, data: Any, max_pixels: int) -> Any:
    """Decode one upload (pixel count and format checked from the header first).

    ``data`` is the encoded file, or an ``(H, W, 3)`` uint8 array (a protocol's pixel tensor).
    """
    from visiona.io.images import load_image

    if not isinstance(data, bytes | bytearray | memoryview):
        import dataclasses

        return dataclasses.replace(load_image(data, max_pixels=max_pixels), source=name)
    if not data:
        raise ImageLoadError(name, "no data (0 bytes)", "upload the encoded image file")
    stream = io.BytesIO(data)
    stream.name = name
    return load_image(stream, max_pixels=max_pixels)


def create_app(config: ServeConfig) -> FastAPI:
    """Build the app; models in ``config.models`` load in the background after start-up."""
    metrics = _Metrics()
    manager = ModelManager(
        max_batch=config.max_batch,
        max_wait_ms=config.max_wait_ms,
        max_queue=config.max_queue,
        max_pixels=config.limits.max_pixels,
        device=config.device,
        on_batch=lambda model, size: metrics.batch.labels(model).observe(size),
    )
    token = config.token or secrets.token_urlsafe(24)
    state = {"ready": not config.models, "load_errors": []}

    def load_initial() -> None:
        for name, source in config.models:
            try:
                manager.load(name, source, pretrained=config.pretrained)
            except VisionaError as error:
                state["load_errors"].append(f"{name}: {error}")
        state["ready"] = True

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(target=load_initial, name="load-models", daemon=True).start()
        yield
        await run_in_threadpool(manager.close)

    app = FastAPI(
        title="visiona",
        description="Serve visiona models: classify, detect, segment, keypoints, faces...",
        lifespan=lifespan,
    )
    app.state.manager = manager
    app.state.token = token
    app.state.config = config
    app.state.serve_state = state
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.limits.max_body_bytes)
    app.add_middleware(StringErrorMiddleware)  # outermost: also rewrites the body limit's 413

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return _json_error(error.status, error.message, error.headers)

    @app.exception_handler(VisionaError)
    async def _visiona_error(request: Request, error: VisionaError) -> JSONResponse:
        if isinstance(error, ImageLoadError):
            return _json_error(_error_status(error), str(error))
        hints = getattr(error, "hints", [])
        message = str(error) + (f" ({'; '.join(hints)})" if hints else "")
        return _json_error(getattr(error, "http_status", 400), message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        return _json_error(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return _json_error(422, f"invalid request: {where}: {first.get('msg', 'invalid')}")

    def served_or_404(name: str) -> ServedModel:
        served = manager.get(name)
        if served is None:
            known = ", ".join(m.name for m in manager.all()) or "none"
            raise ApiError(404, f"no model named {name!r}; served: {known}")
        return served

    def describe(served: ServedModel) -> dict[str, Any]:
        return {
            "name": served.name,
            "task": served.task,
            "source": served.source,
            "version": served.version,
            "options": sorted(_task_options(served)),
            # The same defaults as the CLI (visiona.defaults), for the page's controls.
            "option_defaults": _task_options(served),
            **served.info,
        }

    def require_token(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "management needs 'Authorization: Bearer TOKEN' (printed at start)",
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/v2/health/live", tags=["health"])
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", tags=["health"])
    async def ready() -> JSONResponse:
        ok = bool(state["ready"]) and manager.loading == 0
        body = {"ready": ok, "models": [m.name for m in manager.all()]}
        if state["load_errors"]:
            body["load_errors"] = state["load_errors"]
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        for served in manager.all():
            metrics.queue.labels(served.name).set(served.queue.depth)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", tags=["models"])
    async def list_models() -> dict[str, Any]:
        return {"models": [describe(m) for m in manager.all()]}

    @app.get("/v1/models/{name}", tags=["models"])
    async def get_model(name: str) -> dict[str, Any]:
        """visiona's model description plus TF-Serving's ``model_version_status``."""
        served = served_or_404(name)
        return {**describe(served), **tf_serving.version_status(served)}

    @app.post("/v1/models/{name}:predict", tags=["predict"])
    async def predict(name: str, request: Request) -> JSONResponse:
        """Predict on image(s): multipart files, JSON base64 images or a raw image body.

        TF-Serving bodies (``{"instances": [{"b64": ...}]}`` or ``{"inputs": ...}``) are answered
        in TF-Serving's shape (``{"predictions": [...]}``), errors as ``{"error": "..."}``.
        """
        start = time.perf_counter()
        tf_body = await tf_serving.read_request(request)
        served = served_or_404(name)
        code = 500
        try:
            response = await _predict(served, request, tf_body)
            code = 200
            return response
        except ApiError as error:
            code = error.status
            raise
        except ImageLoadError as error:
            code = _error_status(error)
            raise
        finally:
            metrics.requests.labels(name, str(code)).inc()
            metrics.latency.labels(name).observe(time.perf_counter() - start)

    async def _predict(
        served: ServedModel, request: Request, tf_body: dict[str, Any] | None = None
    ) -> JSONResponse:
        if tf_body is not None:
            return await tf_serving.predict(served, tf_body, infer, config.limits)
        images, raw_options = await _read_inputs(request, config.limits)
        results = await infer(served, images, raw_options)
        return JSONResponse(
            {
                "model": served.name,
                "version": served.version,
                "results": [result.to_dict() for result in results],
            }
        )

    async def infer(
        served: ServedModel, images: list[tuple[str, Any]], raw_options: dict[str, Any]
    ) -> list[Any]:
        """Decode ``(name, encoded bytes or (H, W, 3) uint8 array)`` images, run them through the
        model's batch queue with the checked options, and return one result per image, in order.

        Every protocol goes through here: same limits, queue, batching and errors as ``:predict``.
        """
        limits = config.limits
        options = _coerce_options(served, raw_options)
        prepared = [
            await run_in_threadpool(_decode, image_name, data, limits.max_pixels)
            for image_name, data in images
        ]
        items = []
        try:
            for payload in prepared:
                items.append(served.queue.submit(payload, options))
        except QueueFullError:
            for item in items:
                item.future.cancel()
            metrics.rejects.labels(served.name, "queue_full").inc()
            raise ApiError(
                429, f"model {served.name!r} is busy (queue full); retry shortly",
                {"Retry-After": "1"},
            ) from None  # fmt: skip
        metrics.queue.labels(served.name).set(served.queue.depth)
        futures = [asyncio.wrap_future(item.future) for item in items]
        try:
            results = await asyncio.wait_for(asyncio.gather(*futures), limits.timeout_s)
        except TimeoutError:
            for item in items:
                item.future.cancel()
            metrics.rejects.labels(served.name, "timeout").inc()
            raise ApiError(504, f"prediction took longer than {limits.timeout_s:g} s") from None
        return list(results)

    app.state.infer = infer
    app.state.metrics = metrics
    app.state.error_status = _error_status
    app.include_router(kserve_v2.router)
    app.include_router(tf_serving.router)
    tf_serving.document(app)

    @app.post("/v1/models", tags=["management"], status_code=201)
    async def load_model(body: LoadRequest, request: Request) -> dict[str, Any]:
        """Load (or replace) a model from a registry name or local path. Needs the token."""
        require_token(request)
        served = await run_in_threadpool(
            manager.load, body.name, body.source, task=body.task, pretrained=body.pretrained
        )
        return describe(served)

    @app.delete("/v1/models/{name}", tags=["management"])
    async def unload_model(name: str, request: Request) -> dict[str, Any]:
        """Stop serving a model. Needs the token."""
        require_token(request)
        if not manager.unload(name):
            raise ApiError(404, f"no model named {name!r}")
        return {"unloaded": name}

    return app
