"""Request limits checked before any image is decoded.

:class:`BodyLimitMiddleware` refuses a body larger than ``max_body_bytes`` with 413, whether the
client announced its length (``Content-Length``) or streams it (chunked transfer): the body is
counted as it arrives and never buffered past the limit. Pixel count and format are checked by
:func:`visiona.io.images.load_image` from the image header, before decoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["BodyLimitMiddleware", "Limits", "safe_source_name"]


@dataclass(frozen=True)
class Limits:
    """Server-wide limits.

    Attributes:
        max_body_bytes: Largest request body.
        max_pixels: Largest width × height per image (checked from the header).
        max_files: Images per request.
        timeout_s: Time a request may wait for its result before a 504.
    """

    max_body_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_files: int = 16
    timeout_s: float = 30.0


_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def safe_source_name(filename: object, index: int) -> str:
    """A display name for an upload: the last path part, restricted characters, never a path.

    The name is only echoed back in results (``source``); nothing is ever written or read under it.
    """
    if not isinstance(filename, str):  # a JSON "name" may be any value
        filename = None
    base = (filename or "").replace("\\", "/").split("/")[-1]
    base = _UNSAFE.sub("_", base).lstrip(".")[:100]
    return base or f"image{index}"


def _error(status: int, message: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
    }
    return start, body


class BodyLimitMiddleware:
    """ASGI middleware: 413 for bodies over ``max_bytes`` (announced or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        message = f"request body larger than {self.max_bytes} bytes"
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await self._refuse(send, 400, "invalid Content-Length header")
                    return
                if announced > self.max_bytes:
                    await self._refuse(send, 413, message)
                    return
        # Read the body here, counting it: a chunked upload is cut off at the limit.
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, 413, message)
                return
            chunks.append(chunk)
            if not event.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Any, status: int, message: str) -> None:
        start, body = _error(status, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})
