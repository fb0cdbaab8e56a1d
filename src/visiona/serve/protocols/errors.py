"""Protocol-style errors: ``{"error": "message"}`` instead of visiona's ``{"error": {...}}``.

KServe v2 clients (``tritonclient``) and TF-Serving clients read ``error`` as a string. The app
raises its usual errors everywhere; this ASGI middleware rewrites an error answer's body for a
KServe path (``/v2/...``) or for a request a handler marked with :func:`use_string_errors`.
Being outermost, it also rewrites errors answered before any route runs (body too large, unknown
path, validation).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from visiona.errors import ImageLoadError

ERROR_RESPONSE = {
    "description": "Error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}
"""OpenAPI description of the protocols' error body: ``{"error": "message"}``."""

__all__ = ["ProtocolError", "StringErrorMiddleware", "status_of", "use_string_errors"]


class ProtocolError(HTTPException):
    """A client mistake in a protocol request (4xx); the app's HTTPException handler answers it.

    (The protocol modules do not import the app, which imports them.)
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status_code=status, detail=message)


def status_of(request: Request, error: Exception) -> int:
    """The HTTP status the app answers ``error`` with (for the request metrics)."""
    if isinstance(error, ImageLoadError):
        return request.app.state.error_status(error)
    for attribute in ("status_code", "status", "http_status"):
        value = getattr(error, attribute, None)
        if isinstance(value, int):
            return value
    return 500


_FLAG = "visiona_string_errors"


def use_string_errors(request: Request) -> None:
    """Answer this request's errors as ``{"error": "message"}``."""
    setattr(request.state, _FLAG, True)


def _wanted(scope: dict[str, Any], state: dict[str, Any]) -> bool:
    path = scope.get("path", "")
    return path == "/v2" or path.startswith("/v2/") or bool(state.get(_FLAG))


def flatten_error(body: bytes) -> bytes | None:
    """``{"error": {"message": m, ...}}`` → ``{"error": m}``; ``None`` for any other body."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    return json.dumps({"error": error["message"]}).encode()


class StringErrorMiddleware:
    """ASGI middleware: string-valued ``error`` bodies for protocol requests (4xx/5xx answers)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The same dict is ``request.state`` in the handler (shallow scope copies share it).
        state = scope.setdefault("state", {})
        held: dict[str, Any] | None = None
        parts: list[bytes] = []

        async def send_flattened(message: dict[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if message["status"] >= 400 and _wanted(scope, state):
                    held = message
                    return
                await send(message)
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(parts)
            body = flatten_error(body) or body
            headers = [(k, v) for k, v in held.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_flattened)
