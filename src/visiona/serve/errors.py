"""One error schema for every answer that is not a success, and guards that keep errors 4xx.

* :func:`install_error_handlers`: every error, expected or not, is JSON
  ``{"error": {"code", "message"}}`` (an unexpected one is a 500 with a generic message, never a
  plain-text traceback page); ``405`` answers carry an ``Allow`` header listing every method of
  that path, and ``OPTIONS`` on any known path answers ``204`` with the same ``Allow`` header.
* :func:`parse_json` parses a request body only after checking its nesting depth, so deeply
  nested JSON (``[[[[...]]]]``, 1,100 levels) is a 400, not a ``RecursionError``.
* :data:`ERROR_RESPONSES` / :func:`error_responses` document the error statuses in OpenAPI.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.routing import Match

__all__ = [
    "MAX_JSON_DEPTH",
    "ApiError",
    "ErrorResponse",
    "allowed_methods",
    "error_responses",
    "install_error_handlers",
    "json_depth",
    "json_error",
    "parse_json",
]

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays/objects accepted in a JSON body (visiona's own bodies need 3)."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_log = logging.getLogger("visiona.serve")


class ApiError(Exception):
    """An error answer: HTTP status, one-line message, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: int
    message: str


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"code": 4xx, "message": "..."}}``."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Bad request: invalid JSON or options, no image",
    401: "Missing or wrong bearer token",
    404: "No model with that name",
    405: "Method not allowed on this path (see the Allow header)",
    413: "Body, image count or pixel count above the server's limits",
    415: "Unsupported content type or image format",
    422: "Invalid body fields, or an image that cannot be decoded",
    429: "The model's queue is full; retry after the Retry-After header",
    500: "Unexpected server error (a bug; the message says no more)",
    503: "Not ready",
    504: "The prediction took longer than the server's timeout",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, all with the error schema."""
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in codes}


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error answer."""
    return JSONResponse(
        {"error": {"code": status, "message": message}}, status_code=status, headers=headers
    )


def json_depth(data: bytes) -> int:
    """Deepest array/object nesting of a JSON text (strings skipped; no parsing)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', data)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parses a JSON body after checking its nesting depth (the size is already limited by
    :class:`~visiona.serve.limits.BodyLimitMiddleware`).

    Raises:
        ApiError: 400 for invalid UTF-8/JSON or nesting deeper than ``max_depth``.
    """
    if json_depth(data) > max_depth:
        raise ApiError(400, f"JSON body is nested deeper than {max_depth} levels")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route accepts at this request's path (HEAD with GET, plus OPTIONS)."""
    methods: set[str] = set()
    probe = {**scope, "method": "GET"}
    for route in app.router.routes:
        match, _ = route.matches(probe)
        if match == Match.NONE:
            continue
        route_methods = getattr(route, "methods", None)
        if route_methods is None:  # a mount (static files): read-only
            route_methods = {"GET", "HEAD"}
        methods |= set(route_methods)
    return sorted(methods | {"OPTIONS"}) if methods else []


def install_error_handlers(app: FastAPI) -> None:
    """Registers the JSON error handlers and the ``OPTIONS`` answer on ``app``."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from visiona.errors import ImageLoadError, VisionaError

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return json_error(error.status, error.message, error.headers)

    @app.exception_handler(VisionaError)
    async def _visiona_error(request: Request, error: VisionaError) -> JSONResponse:
        if isinstance(error, ImageLoadError):
            return json_error(image_error_status(error), str(error))
        hints = [hint.strip() for hint in error.hints if hint.strip()]
        message = error.message + (f" ({'; '.join(hints)})" if hints else "")
        return json_error(getattr(error, "http_status", 400), message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            methods = allowed_methods(app, request.scope)
            if methods:
                headers["Allow"] = ", ".join(methods)
            detail = f"method {request.method} not allowed here; allowed: {', '.join(methods)}"
            return json_error(405, detail, headers)
        return json_error(error.status_code, str(error.detail), headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return json_error(422, f"invalid request: {where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Starlette still logs the traceback; the client gets the schema, not a text page.
        return json_error(
            500, f"internal server error ({type(error).__name__}); see the server log"
        )

    app.add_middleware(OptionsMiddleware, api=app)


class OptionsMiddleware:
    """ASGI middleware: ``OPTIONS`` on a known path answers 204 with every allowed method.

    CORS preflight requests (``Access-Control-Request-Method``) pass through to the CORS
    middleware; every other request passes through untouched.
    """

    def __init__(self, app: Any, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = dict(scope.get("headers", []))
            if b"access-control-request-method" not in headers:
                methods = allowed_methods(self.api, scope)
                if methods:
                    response = Response(status_code=204, headers={"Allow": ", ".join(methods)})
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class ModelNameConvertor:
    """Path convertor for ``{name:model}``: a model name never holds ``/`` or ``:``, so
    ``GET /v1/models/x:predict`` matches no GET route and answers 405 (not "no model named
    'x:predict'")."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def register_model_convertor() -> None:
    """Makes ``{name:model}`` usable in route paths (idempotent)."""
    from starlette.convertors import CONVERTOR_TYPES, register_url_convertor

    if "model" not in CONVERTOR_TYPES:
        register_url_convertor("model", ModelNameConvertor())  # type: ignore[arg-type]


def image_error_status(error: Any) -> int:
    """415 for a format that is not an image, 413 above the pixel limit, else 422."""
    reason = error.reason
    if "unsupported image format" in reason or "not a recognised image" in reason:
        return 415
    if ("limit" in reason and "pixel" in reason) or " MP" in reason:
        return 413
    return 422
